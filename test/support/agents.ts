/**
 * Real agent processes for the integration tier: spawn `node bin/grapevine.js agent` on loopback with
 * ephemeral ports, query their HTTP APIs, and poll against deadlines. Every process a test starts is
 * registered with the test's `after` hook and killed there, even when the test fails; each also exits by
 * itself if this test process dies (the agents watch their stdin pipe).
 *
 * The agents run the compiled code in dist/: `npm test` builds first; when running one file by hand, run
 * `npm run build` before it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AgentProcess, agentRequest, type Exit, GRAPEVINE_BIN } from '../../src/agent/agent-process.js';

export { AgentProcess, agentRequest, GRAPEVINE_BIN };

/** A short round so that tests take seconds; detection still rests on the default phi thresholds. */
export const TEST_INTERVAL_MS = 200;

const DIST_MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export function requireBuild(): void {
  if (!existsSync(DIST_MAIN)) {
    throw new Error(
      `integration tests run the compiled agent: run \`npm run build\` first (${DIST_MAIN} is missing)`,
    );
  }
}

export interface MemberJson {
  name: string;
  address: string;
  status: 'alive' | 'suspect' | 'down' | 'left';
  generation: number;
  self: boolean;
  verdict: { accuser: string; reason: string; phi: number; silenceMs: number } | null;
}

/** The processes one test file started, all killed by `stopAll` (call it from `after`). */
export class AgentGroup {
  readonly started: AgentProcess[] = [];

  /** Starts an agent on 127.0.0.1 with ephemeral ports (unless `args` set --bind or --http). */
  async spawn(
    name: string,
    args: readonly string[] = [],
    env: Record<string, string> = {},
  ): Promise<AgentProcess> {
    requireBuild();
    const defaults = [
      '--bind',
      '127.0.0.1:0',
      '--http',
      '127.0.0.1:0',
      '--gossip-interval-ms',
      String(TEST_INTERVAL_MS),
    ];
    const agent = await AgentProcess.spawn({ name, args: [...defaults, ...args], env });
    this.started.push(agent);
    return agent;
  }

  /** Starts `size` agents, each joining the first; resolves once every one sees all of them alive. */
  async cluster(size: number, args: readonly string[] = [], prefix = 'node'): Promise<AgentProcess[]> {
    const first = await this.spawn(`${prefix}-1`, args);
    const rest = await Promise.all(
      Array.from({ length: size - 1 }, (_, index) =>
        this.spawn(`${prefix}-${index + 2}`, [...args, '--join', first.gossipAddress]),
      ),
    );
    const agents = [first, ...rest];
    await waitFor(`${size} agents converge`, async () => {
      const views = await Promise.all(agents.map(members));
      return views.every((view) => view.filter((member) => member.status === 'alive').length === size);
    });
    return agents;
  }

  /** Kills every process still running (SIGKILL: cleanup must be quick and certain). */
  async stopAll(): Promise<void> {
    await Promise.all(this.started.map((agent) => agent.kill('SIGKILL')));
  }
}

/** The agent's exit, once it exits by itself; throws (and the group's cleanup kills it) after `timeoutMs`. */
export async function exitWithin(agent: AgentProcess, timeoutMs = 15_000): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([
    agent.exited,
    new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (exit === null)
    throw new Error(
      `${agent.name} did not exit within ${timeoutMs} ms:\n${agent.output.slice(-10).join('\n')}`,
    );
  return exit;
}

/** GET a JSON document from an agent, failing the test on a non-2xx answer. */
export async function getJson<T>(agent: AgentProcess, path: string): Promise<T> {
  const answer = await agentRequest(agent.httpAddress, path);
  if (answer.status >= 300)
    throw new Error(`GET ${path} on ${agent.name}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body as T;
}

export function members(agent: AgentProcess): Promise<MemberJson[]> {
  return getJson<MemberJson[]>(agent, '/v1/members');
}

export async function memberView(agent: AgentProcess, name: string): Promise<MemberJson | undefined> {
  return (await members(agent)).find((member) => member.name === name);
}

/**
 * Polls `check` every `everyMs` until it returns true; throws, naming `what`, once `timeoutMs` passed.
 * Errors thrown by `check` count as "not yet" (an agent may be restarting), and the last one is reported.
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const detail = lastError === undefined ? '' : ` (last error: ${lastError})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Runs the grapevine command to completion; resolves with its exit code and output. */
export async function runCli(
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  requireBuild();
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [GRAPEVINE_BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`grapevine ${args.join(' ')} did not finish in ${options.timeoutMs ?? 30_000} ms`));
    }, options.timeoutMs ?? 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
