/**
 * Agents as child processes, for the demo and the integration tests: spawn `grapevine agent`, wait for its
 * "agent started" log line (which carries the addresses it actually bound, so ports can be 0), keep its
 * recent output, signal it, and wait for it to exit; plus a small JSON client for its HTTP API.
 *
 * Invariants: a child never outlives its supervisor. Each is spawned in its own process group (so a Ctrl-C
 * meant for the supervisor does not reach it twice) with `--exit-on-stdin-close` and a stdin pipe the
 * supervisor holds: if the supervisor dies, even by SIGKILL, the pipe closes and the agent leaves and exits.
 * The output kept per child is bounded.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The grapevine command, next to the compiled code (bin/grapevine.js runs dist/). */
export const GRAPEVINE_BIN = fileURLToPath(new URL('../../bin/grapevine.js', import.meta.url));

const OUTPUT_LINES_MAX = 2000;

export interface LogLine {
  readonly level?: number;
  readonly msg?: string;
  readonly [field: string]: unknown;
}

export interface AgentProcessOptions {
  readonly name: string;
  /** Flags after `agent --name NAME --log-level info` (bind, http, join, gossip tunables...). */
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** Longest wait for the "agent started" line. */
  readonly readyTimeoutMs?: number;
  /** Called with every JSON log line the agent writes. */
  readonly onLog?: (line: LogLine) => void;
  readonly bin?: string;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class AgentProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>;
  gossipAddress = '';
  httpAddress = '';
  generation = 0;
  /** The most recent lines of output (stdout and stderr), oldest first. */
  readonly output: string[] = [];
  #exit: Exit | null = null;

  private constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
  }

  /** Spawns an agent and resolves once it is serving; rejects (with its output) if it exits or times out. */
  static async spawn(options: AgentProcessOptions): Promise<AgentProcess> {
    // The "agent started" line is logged at info: callers may raise the level (debug), not lower it.
    const args = [
      options.bin ?? GRAPEVINE_BIN,
      'agent',
      '--name',
      options.name,
      '--exit-on-stdin-close',
      '--log-level',
      'info',
    ];
    const child = spawn(process.execPath, [...args, ...options.args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, ...options.env },
    });
    const agent = new AgentProcess(options.name, child);
    const ready = new Promise<void>((resolve) => {
      agent.#readLines(child, (line) => {
        options.onLog?.(line);
        if (line.msg === 'agent started') {
          agent.gossipAddress = String(line.gossipAddress);
          agent.httpAddress = String(line.httpAddress);
          agent.generation = Number(line.generation);
          resolve();
        }
      });
    });
    const timeoutMs = options.readyTimeoutMs ?? 15_000;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      ready.then(() => 'ready' as const),
      agent.exited.then(() => 'exited' as const),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === 'ready') return agent;
    await agent.kill('SIGKILL');
    const why =
      outcome === 'exited' ? `exited (${JSON.stringify(agent.#exit)})` : `not ready in ${timeoutMs} ms`;
    throw new Error(`agent ${options.name} ${why}:\n${agent.output.slice(-20).join('\n')}`);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The exit status, or null while it runs. */
  get exit(): Exit | null {
    return this.#exit;
  }

  #readLines(child: ChildProcess, onJson: (line: LogLine) => void): void {
    const keep = (line: string) => {
      this.output.push(line);
      if (this.output.length > OUTPUT_LINES_MAX) this.output.shift();
    };
    let pending = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        keep(line);
        const parsed = parseJsonLine(line);
        if (parsed !== null) onJson(parsed);
        newline = pending.indexOf('\n');
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line !== '') keep(`stderr: ${line}`);
    });
    // The agent exits when this pipe closes; an EPIPE after it exited is expected, not an error.
    child.stdin?.on('error', () => {});
  }

  /** Sends a signal (if it still runs) and waits for the exit. */
  async kill(signal: NodeJS.Signals): Promise<Exit> {
    if (this.#exit === null) this.child.kill(signal);
    return this.exited;
  }

  /** SIGTERM (a graceful leave), then SIGKILL if it has not exited within `timeoutMs`. */
  async stop(timeoutMs = 5000): Promise<Exit> {
    if (this.#exit !== null) return this.#exit;
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      this.exited,
      new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return exit ?? this.kill('SIGKILL');
  }
}

function parseJsonLine(line: string): LogLine | null {
  if (!line.startsWith('{')) return null;
  try {
    return JSON.parse(line) as LogLine;
  } catch {
    return null;
  }
}

/** A JSON request to an agent's HTTP API: the parsed body and status, or a thrown error when unreachable. */
export async function agentRequest(
  httpAddress: string,
  path: string,
  init: { method?: string; body?: string; timeoutMs?: number } = {},
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://${httpAddress}${path}`, {
    method: init.method ?? 'GET',
    ...(init.body === undefined ? {} : { body: init.body }),
    signal: AbortSignal.timeout(init.timeoutMs ?? 5000),
  });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) };
  } catch {
    return { status: response.status, body: text };
  }
}
