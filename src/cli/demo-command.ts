/**
 * `grapevine demo`: the README's main job. It starts a local cluster of agents as real processes on
 * 127.0.0.1 and narrates, live, what they report over their HTTP APIs: members converging, a key spreading,
 * a SIGKILLed node detected (by whom and why) and rejoining with a higher generation; then it streams the
 * cluster's events until Ctrl-C, which stops every agent cleanly.
 *
 * `grapevine demo --simulated` runs the same story inside the simulator instead (no processes, no sockets).
 *
 * Invariant: no agent outlives the demo. They are stopped on Ctrl-C and on any failure, and each watches its
 * stdin pipe, so even a demo killed outright takes them down with it.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { AgentProcess, agentRequest } from '../agent/agent-process.js';
import { SimCluster } from '../sim/cluster.js';
import { describeVerdict, readEvents, type StreamedEvent } from './client-commands.js';

interface DemoFlags {
  simulated: boolean;
  nodes: number;
  paceMs: number;
  seed: number;
  intervalMs: number;
  follow: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    }
    return parsed;
  };
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('Watch a local cluster of real agent processes converge, spread a key and detect a crash')
    .option('--simulated', 'run the story inside the simulator instead of real processes', false)
    .option(
      '--nodes <n>',
      'cluster size (default 5 real agents, 50 simulated nodes)',
      integer('--nodes', 3, 10_000),
    )
    .option(
      '--interval-ms <ms>',
      'gossip interval of the real agents',
      integer('--interval-ms', 50, 5000),
      200,
    )
    .option('--no-follow', 'exit after the story instead of streaming events until Ctrl-C')
    .option(
      '--pace-ms <ms>',
      'simulated demo: wall-clock ms per gossip round',
      integer('--pace-ms', 0, 10_000),
      400,
    )
    .option('--seed <n>', 'simulated demo: simulation seed', integer('--seed', 0, 2 ** 32 - 1), 7)
    .action(async (flags: DemoFlags & { nodes?: number }) => {
      process.exitCode = flags.simulated
        ? await simulatedDemo({ ...flags, nodes: flags.nodes ?? 50 })
        : await realDemo({ ...flags, nodes: flags.nodes ?? 5 });
    });
}

// ---------------------------------------------------------------------------------------------------------
// The real cluster

interface MemberJson {
  name: string;
  status: string;
  generation: number;
  verdict: { accuser: string; reason: string; phi: number; silenceMs: number } | null;
}

class Narrator {
  readonly #startedAt = Date.now();
  say(text: string): void {
    const seconds = ((Date.now() - this.#startedAt) / 1000).toFixed(1).padStart(5);
    process.stdout.write(`[${seconds}s] ${text}\n`);
  }
}

/** Set by Ctrl-C: every wait below gives up at once, and the demo goes straight to stopping the agents. */
const interruption = { requested: false };

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes; returns whether it did. */
async function until(check: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !interruption.requested) {
    if (await check().catch(() => false)) return true;
    await sleep(everyMs);
  }
  return false;
}

async function membersOf(agent: AgentProcess): Promise<MemberJson[]> {
  const answer = await agentRequest(agent.httpAddress, '/v1/members', { timeoutMs: 1000 });
  return answer.status === 200 ? (answer.body as MemberJson[]) : [];
}

class DemoCluster {
  readonly agents: AgentProcess[] = [];
  readonly #intervalMs: number;
  readonly #say: (text: string) => void;

  constructor(intervalMs: number, say: (text: string) => void) {
    this.#intervalMs = intervalMs;
    this.#say = say;
  }

  async spawn(name: string, options: { join?: string; bind?: string; http?: string }): Promise<AgentProcess> {
    const args = [
      '--bind',
      options.bind ?? '127.0.0.1:0',
      '--http',
      options.http ?? '127.0.0.1:0',
      '--cluster',
      'demo',
      '--gossip-interval-ms',
      String(this.#intervalMs),
      ...(options.join === undefined
        ? []
        : ['--join', options.join, '--retry-join', '--retry-join-interval-ms', '500']),
    ];
    const agent = await AgentProcess.spawn({ name, args });
    this.#say(`started ${name} (pid ${agent.pid}): gossip ${agent.gossipAddress}, HTTP ${agent.httpAddress}`);
    return agent;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.agents.map((agent) => agent.stop()));
  }
}

async function realDemo(flags: DemoFlags): Promise<number> {
  const narrator = new Narrator();
  const say = (text: string) => narrator.say(text);
  const cluster = new DemoCluster(flags.intervalMs, say);
  interruption.requested = false;
  const onSignal = () => {
    interruption.requested = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    say(
      `starting ${flags.nodes} grapevine agents as real processes on 127.0.0.1 (UDP + TCP), gossiping every ` +
        `${flags.intervalMs} ms (the default is 1000 ms; faster here so there is something to watch)`,
    );
    const ok = await story(cluster, flags, say);
    if (interruption.requested) return 0;
    if (!ok) return 1;
    if (flags.follow) await follow(cluster, say);
    return 0;
  } catch (error) {
    say(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    say(`stopping ${cluster.agents.length} agents (each leaves gracefully)...`);
    await cluster.stopAll();
    const clean = cluster.agents.filter((agent) => agent.exit?.code === 0).length;
    say(`stopped: ${clean} of ${cluster.agents.length} agents exited cleanly`);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function story(cluster: DemoCluster, flags: DemoFlags, say: (text: string) => void): Promise<boolean> {
  const interrupted = () => interruption.requested;
  const seed = await cluster.spawn('node-1', {});
  cluster.agents.push(seed);
  for (let index = 2; index <= flags.nodes; index++) {
    cluster.agents.push(await cluster.spawn(`node-${index}`, { join: seed.gossipAddress }));
  }
  // Pauses between the acts give a person time to read; a scripted run (--no-follow) skips them.
  const pause = () => (flags.follow ? sleep(1500) : Promise.resolve());
  if (!(await converge(cluster.agents, flags.nodes, say))) return false;
  await pause();
  if (interrupted() || !(await spreadKey(cluster.agents, say))) return false;
  await pause();
  const victimIndex = Math.floor(flags.nodes / 2);
  const victim = cluster.agents[victimIndex]!;
  if (interrupted() || !(await detectCrash(cluster.agents, victim, say))) return false;
  await pause();
  if (interrupted()) return true;
  const restarted = await cluster.spawn(victim.name, {
    join: seed.gossipAddress,
    bind: victim.gossipAddress,
    http: victim.httpAddress,
  });
  cluster.agents[victimIndex] = restarted;
  return rejoin(cluster.agents.slice(0, flags.nodes), restarted, victim.generation, say);
}

async function converge(
  agents: readonly AgentProcess[],
  size: number,
  say: (text: string) => void,
): Promise<boolean> {
  say('waiting for every agent to see every other one alive:');
  let last = '';
  const done = await until(async () => {
    const counts = await Promise.all(
      agents.map(
        async (agent) => (await membersOf(agent)).filter((member) => member.status === 'alive').length,
      ),
    );
    const line = agents.map((agent, index) => `${agent.name} sees ${counts[index]}`).join(' | ');
    if (line !== last) say(`  ${line}`);
    last = line;
    return counts.every((count) => count === size);
  }, 20_000);
  say(
    done ? `converged: all ${size} agents see ${size} alive members` : 'the cluster did not converge in 20 s',
  );
  return done;
}

async function spreadKey(agents: readonly AgentProcess[], say: (text: string) => void): Promise<boolean> {
  const origin = agents[0]!;
  const key = 'demo/greeting';
  const value = `hello from ${origin.name}`;
  const setAt = Date.now();
  await agentRequest(origin.httpAddress, `/v1/kv/${key}`, { method: 'PUT', body: value });
  say(`${origin.name} sets ${key} = "${value}"; watch it spread:`);
  const informed = new Set<string>([origin.name]);
  const done = await until(
    async () => {
      await Promise.all(
        agents.map(async (agent) => {
          if (informed.has(agent.name)) return;
          const answer = await agentRequest(agent.httpAddress, `/v1/kv/${origin.name}/${key}`, {
            timeoutMs: 1000,
          });
          if (answer.status !== 200) return;
          informed.add(agent.name);
          say(`  ${agent.name} has it after ${Date.now() - setAt} ms (${informed.size}/${agents.length})`);
        }),
      );
      return informed.size === agents.length;
    },
    20_000,
    20,
  );
  say(
    done
      ? `every agent holds ${key} ${Date.now() - setAt} ms after it was set`
      : 'the key did not spread in 20 s',
  );
  return done;
}

async function detectCrash(
  agents: readonly AgentProcess[],
  victim: AgentProcess,
  say: (text: string) => void,
): Promise<boolean> {
  const survivors = agents.filter((agent) => agent !== victim);
  await victim.kill('SIGKILL');
  const killedAt = Date.now();
  say(`SIGKILL ${victim.name} (pid ${victim.pid}): no goodbye; the others must notice on their own`);
  const seen = new Map<string, string>();
  const done = await until(
    async () => {
      await Promise.all(
        survivors.map(async (agent) => {
          const view = (await membersOf(agent)).find((member) => member.name === victim.name);
          if (view === undefined || seen.get(agent.name) === view.status) return;
          seen.set(agent.name, view.status);
          if (view.status === 'alive') return;
          say(
            `  ${agent.name} marks ${victim.name} ${view.status} after ${Date.now() - killedAt} ms, ${describeVerdict(view.verdict)}`,
          );
        }),
      );
      return survivors.every((agent) => seen.get(agent.name) === 'down');
    },
    30_000,
    50,
  );
  say(
    done
      ? `all ${survivors.length} survivors agree ${victim.name} is down, ${Date.now() - killedAt} ms after the kill`
      : `not every survivor marked ${victim.name} down within 30 s`,
  );
  return done;
}

async function rejoin(
  agents: readonly AgentProcess[],
  restarted: AgentProcess,
  oldGeneration: number,
  say: (text: string) => void,
): Promise<boolean> {
  say(
    `restarted ${restarted.name} on the same address: generation ${oldGeneration} -> ${restarted.generation}`,
  );
  const startedAt = Date.now();
  const done = await until(async () => {
    const views = await Promise.all(agents.map(membersOf));
    return views.every((members) =>
      members.some(
        (member) =>
          member.name === restarted.name &&
          member.status === 'alive' &&
          member.generation === restarted.generation,
      ),
    );
  }, 20_000);
  say(
    done
      ? `every agent sees ${restarted.name} alive again with the new generation, after ${Date.now() - startedAt} ms`
      : `${restarted.name} was not seen alive everywhere within 20 s`,
  );
  return done;
}

/** Streams the first agent's events until Ctrl-C. */
async function follow(cluster: DemoCluster, say: (text: string) => void): Promise<void> {
  const first = cluster.agents[0]!;
  const other = cluster.agents[1]!;
  say('the cluster keeps running. In another terminal, try:');
  say(`  npx grapevine members --http ${first.httpAddress}`);
  say(`  npx grapevine kv set --http ${other.httpAddress} color blue`);
  say(`  npx grapevine monitor --http ${first.httpAddress}`);
  say(`  kill -9 ${other.pid}     # and watch it being detected below`);
  say(`events seen by ${first.name} follow; press Ctrl-C to stop every agent.`);
  const controller = new AbortController();
  const stopWhenInterrupted = setInterval(() => {
    if (interruption.requested) controller.abort();
  }, 100);
  try {
    const response = await fetch(`http://${first.httpAddress}/v1/events`, { signal: controller.signal });
    if (response.body !== null) await readEvents(response.body, (event) => say(`  ${describeEvent(event)}`));
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearInterval(stopWhenInterrupted);
  }
}

function describeEvent(event: StreamedEvent): string {
  const data = event.data;
  if (event.type === 'key-updated') {
    return `${event.type}: ${data.owner} ${data.key} = ${data.value === null ? '(deleted)' : JSON.stringify(data.value)}`;
  }
  const member = data.member as MemberJson | undefined;
  if (member === undefined) return event.type;
  const verdict = describeVerdict(member.verdict);
  return `${event.type}: ${member.name} (generation ${member.generation})${verdict === '' ? '' : `, ${verdict}`}`;
}

// ---------------------------------------------------------------------------------------------------------
// The simulated cluster

function bar(fraction: number, width = 40): string {
  const filled = Math.round(fraction * width);
  return `${'█'.repeat(filled)}${'·'.repeat(width - filled)}`;
}

async function simulatedDemo(flags: DemoFlags): Promise<number> {
  const cluster = new SimCluster({ nodes: flags.nodes, seed: flags.seed });
  const interval = cluster.options.gossipIntervalMs;
  const say = (text: string) =>
    process.stdout.write(`[t=${(cluster.now / 1000).toFixed(1).padStart(5)}s] ${text}\n`);
  say(`starting ${flags.nodes} simulated nodes (seed ${flags.seed}); each already knows the member list`);
  cluster.startSettled();
  for (let round = 0; round < 5; round++) {
    cluster.runFor(interval);
    await sleep(flags.paceMs / 2);
  }
  const origin = cluster.hosts[0]!;
  const informed = new Set<string>([origin.name]);
  cluster.onEvent((host, event) => {
    if (event.type === 'key-updated' && event.key === 'demo/greeting') informed.add(host.name);
  });
  cluster.set(origin.index, 'demo/greeting', 'hello from node-0');
  say(`${origin.name} sets demo/greeting; watch it spread:`);
  for (let round = 1; informed.size < flags.nodes && round <= 20; round++) {
    cluster.runFor(interval);
    say(
      `round ${String(round).padStart(2)}  ${bar(informed.size / flags.nodes)} ${informed.size}/${flags.nodes} nodes`,
    );
    await sleep(flags.paceMs);
  }
  const victim = cluster.hosts[Math.floor(flags.nodes / 2)]!;
  const marked = new Set<string>();
  let firstVerdict = '';
  cluster.onEvent((host, event) => {
    if (event.type === 'member-down' && event.member.name === victim.name) {
      marked.add(host.name);
      if (firstVerdict === '' && event.member.verdict !== null) {
        const verdict = event.member.verdict;
        firstVerdict = `${verdict.accuser} (${verdict.reason === 'refused' ? 'connection refused' : `phi ${verdict.phiHundredths / 100}`})`;
      }
    }
  });
  const crashedAt = cluster.now;
  cluster.crash(victim.index);
  say(`${victim.name} crashes`);
  for (let tick = 1; marked.size < flags.nodes - 1 && tick <= 60; tick++) {
    cluster.runFor(interval / 2);
    if (marked.size > 0 || tick % 2 === 0) {
      say(
        `${bar(marked.size / (flags.nodes - 1))} ${marked.size}/${flags.nodes - 1} see ${victim.name} down`,
      );
    }
    await sleep(flags.paceMs / 2);
  }
  say(
    `first verdict by ${firstVerdict || 'nobody'}; every live node agreed ${((cluster.now - crashedAt) / 1000).toFixed(1)} s after the crash`,
  );
  return marked.size === flags.nodes - 1 ? 0 : 1;
}
