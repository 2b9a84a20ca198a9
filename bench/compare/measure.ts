/**
 * The baseline measurements of the side-by-side benchmark, the same code for both systems: join
 * convergence, failure detection after a SIGKILL, update propagation, and cost at rest (CPU, resident
 * memory and bytes on the wire per agent). It also owns the life cycle of a benchmark cluster: network,
 * relay, agents, and their teardown whatever happens.
 *
 * Definitions (printed with the results):
 * - join convergence: every agent has been started alone and reported ready; the clock starts when the join
 *   commands are issued (every agent joins agent 0) and stops when every agent reports every other alive;
 * - detection: from the SIGKILL to the moment the last survivor reports the victim failed (Serf) or down
 *   (grapevine);
 * - propagation: from the moment the origin agent itself reports the update (or, if it never does, the
 *   moment the command was issued) to the moment the last agent reports it;
 * - at rest: after a settling pause with no command and no observation request in flight, CPU percent of
 *   one core and VmRSS from /proc, and bytes each agent sent per second as counted by its veth (Ethernet
 *   frames: IP, UDP/TCP and Ethernet headers included).
 */
import { NetnsNetwork } from '../../test/support/netns.js';
import { type ProcessSample, sampleProcess, usageOverWindow } from '../../test/support/process-stats.js';
import { type Agent, type AgentSystem, BenchCluster, sleep } from './cluster.js';

/** Names and addresses of the benchmark's network (the partition test uses another prefix and subnet). */
export const BENCH_PREFIX = 'gvb';
const BENCH_SUBNET = '10.77.2';

export interface Deadlines {
  readonly readyMs: number;
  readonly convergeMs: number;
  readonly detectMs: number;
  readonly propagateMs: number;
}

export const DEADLINES: Deadlines = {
  readyMs: 60_000,
  convergeMs: 180_000,
  detectMs: 90_000,
  propagateMs: 30_000,
};

/** A small seeded generator (mulberry32), so a run's random choices are printed and repeatable. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(items: readonly T[], random: () => number): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('cannot pick from an empty list');
  return item;
}

export function log(message: string): void {
  const time = new Date().toISOString().slice(11, 19);
  console.error(`[${time}] ${message}`);
}

/**
 * Builds a network of `nodes` namespaces, starts one agent of `system` in each, joins them, and runs
 * `body` on the formed cluster; tears everything down afterwards, also when anything fails. Returns the
 * join convergence time in seconds along with what `body` returned.
 */
export async function withFormedCluster<T>(
  system: AgentSystem,
  nodes: number,
  body: (cluster: BenchCluster) => Promise<T>,
): Promise<{ joinSeconds: number; result: T }> {
  const network = await NetnsNetwork.create({ prefix: BENCH_PREFIX, nodeCount: nodes, subnet: BENCH_SUBNET });
  const relay = network.startHttpRelay();
  const cluster = new BenchCluster({ system, network, relay, namePrefix: 'agent' });
  try {
    const joinSeconds = await formCluster(cluster);
    return { joinSeconds, result: await body(cluster) };
  } catch (error) {
    log(`${system.name}: failed; views: ${cluster.describeViews()}`);
    for (const agent of cluster.agents.slice(0, 3)) {
      log(`${agent.name} last lines:\n  ${agent.recentLines.slice(-6).join('\n  ')}`);
    }
    throw error;
  } finally {
    cluster.close();
    await cluster.stopAll();
    relay.close();
    await network.teardown();
  }
}

/** Starts every agent alone, then joins them all to agent 0; returns seconds until all see all alive. */
async function formCluster(cluster: BenchCluster): Promise<number> {
  const name = cluster.system.name;
  await cluster.startAll({ join: [], retryJoin: false }, DEADLINES.readyMs);
  const seed = cluster.agents[0] as Agent;
  const startedAt = performance.now();
  await cluster.system.join(cluster, cluster.agents, seed);
  const convergedAt = await cluster.waitUntil(
    'every agent to see all alive',
    () => cluster.allSeeAlive(),
    DEADLINES.convergeMs,
  );
  const seconds = (convergedAt - startedAt) / 1000;
  // A slow join is usually a member wrongly failed on the way (and found again on a reconnect): say so.
  const verdicts = cluster.verdicts.filter(
    (verdict) => verdict.atMs >= startedAt && verdict.status === 'failed',
  );
  log(
    `${name} N=${cluster.agents.length}: joined in ${seconds.toFixed(2)} s` +
      (verdicts.length === 0 ? '' : ` (${verdicts.length} failed verdicts on the way)`),
  );
  await verifyViews(cluster);
  return seconds;
}

/**
 * Checks the views built from the agents' reports against their APIs for a few agents: a parser that
 * missed a status change would make every other number wrong.
 */
export async function verifyViews(cluster: BenchCluster, sample = 3): Promise<void> {
  for (const agent of cluster.running().slice(0, sample)) {
    const members = await cluster.system.readMembers(cluster, agent);
    for (const other of cluster.agents) {
      if (other === agent) continue;
      const reported = agent.view.get(other.name);
      const actual = members.get(other.name);
      if (reported !== actual) {
        throw new Error(
          `${agent.name}'s reported view says ${other.name} is ${reported}, its API says ${actual}`,
        );
      }
    }
  }
}

export interface RestResult {
  readonly windowSeconds: number;
  /** Per agent, in agent order. */
  readonly cpuPercent: readonly number[];
  readonly rssBytes: readonly number[];
  readonly sentBytesPerSecond: readonly number[];
  readonly receivedBytesPerSecond: readonly number[];
  /** Membership changes reported during the window (there should be none). */
  readonly verdictsDuringWindow: number;
}

/** Waits `settleMs`, then measures every agent over `windowMs` with nothing else going on. */
export async function measureRest(cluster: BenchCluster, options: { settleMs: number; windowMs: number }) {
  await sleep(options.settleMs);
  const agents = cluster.running();
  const pids = agents.map((agent) => agent.child?.pid as number);
  const countersBefore = agents.map((agent) => cluster.network.counters(agent.node));
  const samplesBefore: ProcessSample[] = pids.map(sampleProcess);
  const startedAt = performance.now();
  await sleep(options.windowMs);
  const samplesAfter: ProcessSample[] = pids.map(sampleProcess);
  const countersAfter = agents.map((agent) => cluster.network.counters(agent.node));
  const windowSeconds = (performance.now() - startedAt) / 1000;
  const usage = usageOverWindow(samplesBefore, samplesAfter);
  const result: RestResult = {
    windowSeconds,
    cpuPercent: usage.map((item) => item.cpuPercent),
    rssBytes: usage.map((item) => item.rssBytes),
    sentBytesPerSecond: agents.map(
      (_, index) =>
        ((countersAfter[index]?.sentBytes ?? 0) - (countersBefore[index]?.sentBytes ?? 0)) / windowSeconds,
    ),
    receivedBytesPerSecond: agents.map(
      (_, index) =>
        ((countersAfter[index]?.receivedBytes ?? 0) - (countersBefore[index]?.receivedBytes ?? 0)) /
        windowSeconds,
    ),
    verdictsDuringWindow: cluster.verdicts.filter((verdict) => verdict.atMs >= startedAt).length,
  };
  log(
    `${cluster.system.name} N=${agents.length}: at rest over ${windowSeconds.toFixed(0)} s: ` +
      `CPU ${median(result.cpuPercent).toFixed(2)}%, RSS ${(median(result.rssBytes) / 2 ** 20).toFixed(1)} MiB, ` +
      `${mean(result.sentBytesPerSecond).toFixed(0)} B/s sent per agent`,
  );
  return result;
}

export interface DetectionTrial {
  readonly victim: string;
  /** Seconds from the SIGKILL until the first survivor, and until the last, reported it failed. */
  readonly firstSeconds: number;
  readonly allSeconds: number;
}

/** SIGKILLs a random agent (never the seed), times its detection, restarts it and waits for all alive. */
export async function measureDetection(
  cluster: BenchCluster,
  options: { trials: number; random: () => number },
) {
  const trials: DetectionTrial[] = [];
  const seed = cluster.agents[0] as Agent;
  for (let trial = 0; trial < options.trials; trial++) {
    const victim = pick(cluster.agents.slice(1), options.random);
    const survivors = cluster.agents.filter((agent) => agent !== victim);
    const killedAt = performance.now();
    await cluster.kill(victim);
    // The first detection can only time out if the last does too, which reports the failure.
    const first = cluster
      .waitUntil(
        `a survivor to mark ${victim.name} failed`,
        () => survivors.some((agent) => isFailed(agent.view.get(victim.name))),
        DEADLINES.detectMs,
      )
      .catch(() => Number.NaN);
    const all = await cluster.waitUntil(
      `every survivor to mark ${victim.name} failed`,
      () => cluster.allSeeFailed(survivors, victim),
      DEADLINES.detectMs,
    );
    const result = {
      victim: victim.name,
      firstSeconds: ((await first) - killedAt) / 1000,
      allSeconds: (all - killedAt) / 1000,
    };
    trials.push(result);
    const firstVerdict = cluster.verdicts.find(
      (verdict) => verdict.member === victim.name && verdict.status === 'failed' && verdict.atMs >= killedAt,
    );
    log(
      `${cluster.system.name} N=${cluster.agents.length}: ${victim.name} killed, first detection ` +
        `${result.firstSeconds.toFixed(2)} s, all ${result.allSeconds.toFixed(2)} s` +
        (firstVerdict?.detail === undefined ? '' : ` (first verdict: ${firstVerdict.detail})`),
    );
    cluster.start(victim, { join: [cluster.gossipAddress(seed)], retryJoin: false });
    await cluster.waitUntil(`${victim.name} to rejoin`, () => cluster.allSeeAlive(), DEADLINES.convergeMs);
  }
  return trials;
}

function isFailed(status: string | undefined): boolean {
  return status === 'failed' || status === 'left';
}

export interface PropagationTrial {
  readonly origin: string;
  /** Seconds from the origin having the update (or the command, see `fromCommand`) to the last agent. */
  readonly seconds: number;
  readonly fromCommand: boolean;
}

/** Publishes an update through a random agent and times its arrival at every other agent. */
export async function measurePropagation(
  cluster: BenchCluster,
  options: { trials: number; random: () => number; runId: string },
) {
  const trials: PropagationTrial[] = [];
  const stopWatching = (await cluster.system.watchUpdates?.(cluster, cluster.agents)) ?? (() => {});
  try {
    for (let trial = 0; trial < options.trials; trial++) {
      const origin = pick(cluster.agents, options.random);
      const name = `bench-${options.runId}-${cluster.agents.length}-${trial}`;
      const issuedAt = performance.now();
      await cluster.system.publish(cluster, origin, name);
      const others = cluster.agents.filter((agent) => agent !== origin);
      const doneAt = await cluster.waitUntil(
        `every agent to receive ${name}`,
        () => others.every((agent) => agent.updates.has(name)),
        DEADLINES.propagateMs,
      );
      const originAt = origin.updates.get(name);
      const startAt = originAt ?? issuedAt;
      const result = {
        origin: origin.name,
        seconds: (doneAt - startAt) / 1000,
        fromCommand: originAt === undefined,
      };
      trials.push(result);
      log(
        `${cluster.system.name} N=${cluster.agents.length}: update from ${origin.name} reached all in ` +
          `${result.seconds.toFixed(3)} s (${result.fromCommand ? 'from the command' : 'from the origin'})`,
      );
      await sleep(1000);
    }
  } finally {
    stopWatching();
  }
  return trials;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length;
}

export function maximum(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : Math.max(...values);
}
