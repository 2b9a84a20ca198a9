/**
 * Scenarios: scripted runs of a simulated cluster that measure one thing each and check invariants
 * throughout. Every scenario is a pure function of its options (seed included), so its report replays.
 *
 * - converge:  a settled cluster; one node sets a new key; rounds until every live node has it.
 * - crash:     a settled cluster; one node crashes (its process, or its whole host with --silent);
 *              seconds until every live node marks it down.
 * - calm:      a settled cluster under loss for a long time: any down verdict is a false positive.
 * - partition: a key set just before the cluster splits in two, another during the split; after healing,
 *              both reach every node and all views agree.
 * - stall:     one node is stopped for 2 s every 10 s (like SIGSTOP); nobody may declare it down, nor may
 *              it declare anyone down; then, in the same cluster, 8-second stalls that every
 *              node must report before they end.
 * - churn:     crashes, restarts, stalls and partitions at random under loss, duplication and reordering;
 *              after healing, every live node agrees and sees every restarted node alive.
 * - canary:    the partition scenario with a planted bug (one node's outgoing deltas are corrupted on the
 *              wire): the convergence checker must catch it, or the harness itself is broken.
 */
import type { SeededRandom } from '../core/index.js';
import { decode, decodeFrameHeader, encodeFrame, type Message, type OwnerDelta } from '../wire/index.js';
import { Checkers, type Violation } from './checkers.js';
import { SimCluster } from './cluster.js';
import type { LinkModel } from './network.js';

export const SCENARIOS = ['converge', 'crash', 'calm', 'partition', 'stall', 'churn', 'canary'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface ScenarioOptions {
  readonly scenario: ScenarioName;
  readonly nodes: number;
  readonly seed: number;
  readonly lossRate: number;
  readonly gossip?: Readonly<Record<string, unknown>>;
  readonly link?: Partial<LinkModel>;
  /** crash: the whole host goes silent instead of the process dying on a live host. */
  readonly silent?: boolean;
  /** calm and stall: how long the faulty phase lasts (simulated milliseconds). */
  readonly durationMs?: number;
}

export interface RunReport {
  readonly scenario: ScenarioName;
  readonly seed: number;
  readonly nodes: number;
  /** Gossip intervals from the key being set until the last live node had it. */
  convergenceRounds: number | null;
  /** Fraction of live nodes holding the key at the end of each interval after it was set. */
  informedByRound: number[];
  /** Seconds from the crash until the first / every live node marked the crashed node down. */
  detectionFirstSeconds: number | null;
  detectionAllSeconds: number | null;
  falsePositives: number;
  suspicions: number;
  /** Payload bytes each node sent per second while the cluster was at rest (frames, without UDP/IP). */
  bytesPerNodePerSecond: number;
  datagramsPerNodePerSecond: number;
  largestDatagramBytes: number;
  violations: Violation[];
  /** Scenario-specific numbers (stall verdicts, heal times, ...). */
  details: Record<string, number | string | boolean>;
}

const SETTLE_ROUNDS = 12;

function newCluster(options: ScenarioOptions): { cluster: SimCluster; checkers: Checkers } {
  const cluster = new SimCluster({
    nodes: options.nodes,
    seed: options.seed,
    gossip: options.gossip ?? {},
    link: { lossRate: options.lossRate, ...options.link },
  });
  const checkers = new Checkers(cluster);
  return { cluster, checkers };
}

function emptyReport(options: ScenarioOptions): RunReport {
  return {
    scenario: options.scenario,
    seed: options.seed,
    nodes: options.nodes,
    convergenceRounds: null,
    informedByRound: [],
    detectionFirstSeconds: null,
    detectionAllSeconds: null,
    falsePositives: 0,
    suspicions: 0,
    bytesPerNodePerSecond: 0,
    datagramsPerNodePerSecond: 0,
    largestDatagramBytes: 0,
    violations: [],
    details: {},
  };
}

/** Starts a settled cluster, lets it warm up, and measures its traffic at rest over a few rounds. */
function settle(cluster: SimCluster, report: RunReport): void {
  const interval = cluster.options.gossipIntervalMs;
  cluster.startSettled();
  cluster.runFor(SETTLE_ROUNDS * interval);
  const bytesBefore = sum(cluster, (host) => host.bytesSent);
  const datagramsBefore = sum(cluster, (host) => host.runner.stats.datagramsSent);
  const windowMs = 8 * interval;
  cluster.runFor(windowMs);
  const live = cluster.liveHosts().length;
  report.bytesPerNodePerSecond =
    (sum(cluster, (host) => host.bytesSent) - bytesBefore) / live / (windowMs / 1000);
  report.datagramsPerNodePerSecond =
    (sum(cluster, (host) => host.runner.stats.datagramsSent) - datagramsBefore) / live / (windowMs / 1000);
}

function sum(cluster: SimCluster, value: (host: SimCluster['hosts'][number]) => number): number {
  let total = 0;
  for (const host of cluster.hosts) total += value(host);
  return total;
}

function finish(cluster: SimCluster, checkers: Checkers, report: RunReport): RunReport {
  checkers.stop();
  report.largestDatagramBytes = Math.max(
    ...cluster.hosts.map((host) => host.runner.stats.largestDatagramBytes),
  );
  report.falsePositives = checkers.falseDownVerdicts;
  report.suspicions = checkers.suspicions;
  report.violations = checkers.violations;
  return report;
}

/** Sets `key` on a random live node at a random moment of the next interval; returns who and when. */
function setKeyAtRandom(
  cluster: SimCluster,
  random: SeededRandom,
  key: string,
): { origin: number; atMs: number } {
  const interval = cluster.options.gossipIntervalMs;
  cluster.runFor(random.next() * interval);
  const live = cluster.liveHosts();
  const origin = live[random.int(live.length)]!.index;
  cluster.set(origin, key, `value-of-${key}`);
  return { origin, atMs: cluster.now };
}

/** Runs until every live node holds `key` from `owner`, or the deadline; returns each informed time. */
function trackKey(cluster: SimCluster, owner: string, key: string, deadlineMs: number): Map<string, number> {
  const informed = new Map<string, number>();
  const ownerHost = cluster.hosts.find((host) => host.name === owner)!;
  informed.set(owner, cluster.now);
  const unsubscribe = cluster.onEvent((host, event) => {
    if (event.type === 'key-updated' && event.owner === owner && event.key === key && event.value !== null) {
      if (!informed.has(host.name)) informed.set(host.name, cluster.now);
    }
  });
  const liveCount = () => cluster.liveHosts().length;
  cluster.runFor(deadlineMs, () => informed.size >= liveCount());
  unsubscribe();
  if (ownerHost.state !== 'running') informed.delete(owner);
  return informed;
}

function converge(options: ScenarioOptions): RunReport {
  const { cluster, checkers } = newCluster(options);
  const report = emptyReport(options);
  settle(cluster, report);
  const interval = cluster.options.gossipIntervalMs;
  const random = cluster.random.fork();
  const { origin, atMs } = setKeyAtRandom(cluster, random, 'sim/new-key');
  const owner = cluster.hosts[origin]!.name;
  const informed = trackKey(cluster, owner, 'sim/new-key', 60 * interval);
  const live = cluster.liveHosts().length;
  const times = [...informed.values()].map((time) => time - atMs).sort((a, b) => a - b);
  if (informed.size >= live) report.convergenceRounds = times[times.length - 1]! / interval;
  else checkers.report('liveness', `key reached ${informed.size} of ${live} live nodes in 60 rounds`);
  const rounds = Math.ceil((times[times.length - 1] ?? 0) / interval);
  for (let round = 0; round <= rounds; round++) {
    report.informedByRound.push(times.filter((time) => time <= round * interval).length / live);
  }
  return finish(cluster, checkers, report);
}

function crash(options: ScenarioOptions): RunReport {
  const { cluster, checkers } = newCluster(options);
  const report = emptyReport(options);
  settle(cluster, report);
  cluster.runFor(8 * cluster.options.gossipIntervalMs);
  const random = cluster.random.fork();
  cluster.runFor(random.next() * cluster.options.gossipIntervalMs);
  const victim = cluster.hosts[random.int(cluster.hosts.length)]!;
  const crashedAt = cluster.now;
  cluster.crash(victim.index, options.silent === true ? 'host' : 'process');
  const marked = new Map<string, number>();
  const unsubscribe = cluster.onEvent((host, event) => {
    if (event.type === 'member-down' && event.member.name === victim.name && !marked.has(host.name)) {
      marked.set(host.name, cluster.now - crashedAt);
    }
  });
  const live = () => cluster.liveHosts().length;
  cluster.runFor(180_000, () => marked.size >= live());
  unsubscribe();
  const times = [...marked.values()];
  if (times.length > 0) report.detectionFirstSeconds = Math.min(...times) / 1000;
  if (marked.size >= live()) report.detectionAllSeconds = Math.max(...times) / 1000;
  else
    checkers.report(
      'liveness',
      `only ${marked.size} of ${live()} live nodes marked ${victim.name} down in 180 s`,
    );
  report.details.victim = victim.name;
  report.details.crashMode = options.silent === true ? 'host' : 'process';
  return finish(cluster, checkers, report);
}

function calm(options: ScenarioOptions): RunReport {
  const { cluster, checkers } = newCluster(options);
  const report = emptyReport(options);
  settle(cluster, report);
  cluster.runFor(options.durationMs ?? 3_600_000);
  report.details.simulatedSeconds = (options.durationMs ?? 3_600_000) / 1000;
  return finish(cluster, checkers, report);
}

function splitHalves(nodes: number): [number[], number[]] {
  const left: number[] = [];
  const right: number[] = [];
  for (let index = 0; index < nodes; index++) (index < nodes / 2 ? left : right).push(index);
  return [left, right];
}

/** Runs until all live nodes agree and hold the keys, or the deadline; reports the time it took. */
function healAndCheck(
  cluster: SimCluster,
  checkers: Checkers,
  report: RunReport,
  keys: { owner: string; key: string; value: string }[],
): void {
  const interval = cluster.options.gossipIntervalMs;
  const healedAt = cluster.now;
  let converged = false;
  for (let elapsed = 0; elapsed < 120 * interval && !converged; elapsed += interval) {
    cluster.runFor(interval);
    converged = checkers.converged(keys);
  }
  if (converged) report.details.healSeconds = (cluster.now - healedAt) / 1000;
  else checkers.checkConverged(keys);
}

function partition(options: ScenarioOptions, mutate = false): RunReport {
  const { cluster, checkers } = newCluster(options);
  const report = emptyReport(options);
  settle(cluster, report);
  const interval = cluster.options.gossipIntervalMs;
  if (mutate) cluster.network.mutator = corruptDeltasFrom(cluster.hosts[0]!.address, cluster.clusterName);
  const [left, right] = splitHalves(options.nodes);
  const before = {
    owner: cluster.hosts[left[0]!]!.name,
    key: 'sim/before-split',
    value: 'set-just-before-the-split',
  };
  cluster.set(left[0]!, before.key, before.value);
  cluster.runFor(interval / 20);
  cluster.partition([left, right]);
  const splitAt = cluster.now;
  const sidesSeeEachOtherDown = (): boolean =>
    [
      [left, right],
      [right, left],
    ].every(([side, other]) =>
      side!.every((index) => {
        const node = cluster.hosts[index]!.node;
        return other!.every((peer) => node.member(cluster.hosts[peer]!.name)?.status === 'down');
      }),
    );
  let splitSeenAt: number | null = null;
  const splitSeen = (): void => {
    if (splitSeenAt === null && sidesSeeEachOtherDown()) splitSeenAt = cluster.now;
  };
  for (let elapsed = 0; elapsed < 5 * interval; elapsed += 100) {
    cluster.runFor(100);
    splitSeen();
  }
  const during = {
    owner: cluster.hosts[right[0]!]!.name,
    key: 'sim/during-split',
    value: 'set-during-the-split',
  };
  cluster.set(right[0]!, during.key, during.value);
  const end = splitAt + (options.durationMs ?? 30_000);
  while (cluster.now < end) {
    cluster.runFor(Math.min(100, end - cluster.now));
    splitSeen();
  }
  // Seconds until every node on each side reported every node on the other side down (blank: not within
  // the split).
  report.details.splitSeenSeconds = splitSeenAt === null ? '' : (splitSeenAt - splitAt) / 1000;
  const leftView = cluster.hosts[left[0]!]!.node.member(cluster.hosts[right[0]!]!.name)?.status ?? 'unknown';
  report.details.statusAcrossSplit = leftView;
  cluster.heal();
  healAndCheck(cluster, checkers, report, [before, during]);
  return finish(cluster, checkers, report);
}

/** The canary's planted bug: rewrites values in the deltas one node sends, keeping their versions. */
function corruptDeltasFrom(address: string, clusterName: string) {
  return (from: string, _to: string, bytes: Uint8Array): Uint8Array => {
    if (from !== address) return bytes;
    const frame = decodeFrameHeader(bytes);
    if (!frame.ok) return bytes;
    const decoded = decode(bytes.subarray(frame.value.payloadOffset));
    if (!decoded.ok) return bytes;
    const message = decoded.value;
    if (message.type !== 'syn-ack' && message.type !== 'ack') return bytes;
    const corrupt = (delta: OwnerDelta): OwnerDelta => ({
      ...delta,
      entries: delta.entries.map((entry) => ({
        ...entry,
        value: entry.value === null ? null : `${entry.value}!`,
      })),
    });
    const mutated: Message = { ...message, deltas: message.deltas.map(corrupt) };
    return encodeFrame(clusterName, mutated);
  };
}

function stall(options: ScenarioOptions): RunReport {
  const { cluster, checkers } = newCluster(options);
  const report = emptyReport(options);
  settle(cluster, report);
  const victim = cluster.hosts[cluster.random.fork().int(options.nodes)]!;
  const verdicts = { against: 0, by: 0 };
  /** Hosts that reported the victim down since the current long stall began. */
  const reporters = new Set<string>();
  cluster.onEvent((host, event) => {
    if (event.type !== 'member-down') return;
    if (event.member.name === victim.name) {
      verdicts.against++;
      reporters.add(host.name);
    } else if (host.name === victim.name) verdicts.by++;
  });
  const duration = options.durationMs ?? 300_000;
  for (let elapsed = 0; elapsed < duration; elapsed += 10_000) {
    cluster.stall(victim.index, 2000);
    cluster.runFor(10_000);
  }
  report.details.victim = victim.name;
  report.details.shortStallVerdictsAgainst = verdicts.against;
  report.details.shortStallVerdictsBy = verdicts.by;
  if (verdicts.against > 0 || verdicts.by > 0) {
    checkers.report(
      'stall',
      `2-second stalls caused ${verdicts.against} verdicts against ${victim.name} and ${verdicts.by} by it`,
    );
  }
  // Then, in the same cluster (whose detectors have just watched the victim pause for 2 s again and
  // again), three 8-second stalls, 30 s apart: each must be reported by every other node before it ends.
  const others = cluster.hosts.filter((host) => host !== victim).length;
  let detected = 0;
  const detectionSeconds: number[] = [];
  for (let i = 0; i < 3; i++) {
    reporters.clear();
    const stoppedAt = cluster.now;
    cluster.stall(victim.index, 8000);
    let allAt: number | null = null;
    while (cluster.now < stoppedAt + 8000) {
      cluster.runFor(100);
      if (allAt === null && reporters.size >= others) allAt = cluster.now;
    }
    if (allAt !== null) {
      detected++;
      detectionSeconds.push((allAt - stoppedAt) / 1000);
    }
    cluster.runFor(22_000);
  }
  report.details.longStallsDetected = detected;
  report.details.longStallDetectionSeconds = detectionSeconds.join(' ');
  if (detected < 3) {
    checkers.report(
      'stall',
      `only ${detected} of 3 eight-second stalls after the 2-second ones were reported by every node before they ended`,
    );
  }
  // Verdicts against the stalled node are the point of this scenario, not false positives.
  return finish(cluster, checkers, report);
}

function churn(options: ScenarioOptions): RunReport {
  const { cluster, checkers } = newCluster({
    ...options,
    link: {
      duplicateRate: 0.02,
      reorderRate: 0.05,
      jitterMs: 5,
      jitterDistribution: 'pareto',
      ...options.link,
    },
  });
  const report = emptyReport(options);
  settle(cluster, report);
  const random = cluster.random.fork();
  const interval = cluster.options.gossipIntervalMs;
  const seeds = cluster.hosts.slice(0, 3).map((host) => host.address);
  const keys: { owner: string; key: string; value: string }[] = [];
  const duration = options.durationMs ?? 120_000;
  let step = 0;
  for (let elapsed = 0; elapsed < duration; elapsed += 2 * interval, step++) {
    const index = random.int(options.nodes);
    const host = cluster.hosts[index]!;
    const dice = random.next();
    if (host.state === 'crashed' || host.state === 'host-down') {
      if (dice < 0.5) cluster.restart(index, seeds);
    } else if (dice < 0.15) cluster.crash(index, random.next() < 0.5 ? 'process' : 'host');
    else if (dice < 0.3) cluster.stall(index, random.int(6000));
    else if (dice < 0.35) cluster.partition(splitHalves(options.nodes));
    else if (dice < 0.4) cluster.cut(index, random.int(options.nodes));
    else if (dice < 0.48) cluster.heal();
    else if (host.state === 'running') {
      const key = `sim/churn-${step}`;
      const value = `v${step}`;
      cluster.set(index, key, value);
      keys.push({ owner: host.name, key, value });
    }
    cluster.runFor(2 * interval);
  }
  // Liveness: heal everything, restart the dead, and expect one view everywhere.
  cluster.heal();
  for (const host of cluster.hosts)
    if (host.state === 'crashed' || host.state === 'host-down') cluster.restart(host.index, seeds);
  const latest = new Map<string, { owner: string; key: string; value: string }>();
  for (const key of keys) {
    const owner = cluster.hosts.find((host) => host.name === key.owner)!;
    // Keys written by a generation that later restarted are gone with it (a new generation starts empty).
    if (owner.node.keysOf(owner.name)?.get(key.key)?.value === key.value)
      latest.set(`${key.owner}/${key.key}`, key);
  }
  healAndCheck(cluster, checkers, report, [...latest.values()]);
  const notAlive = cluster.liveHosts().flatMap((viewer) =>
    cluster
      .liveHosts()
      .filter((other) => viewer.node.member(other.name)?.status !== 'alive')
      .map((other) => `${viewer.name}->${other.name}`),
  );
  if (notAlive.length > 0)
    checkers.report(
      'convergence',
      `live nodes not seen alive after healing: ${notAlive.slice(0, 5).join(', ')}`,
    );
  report.details.keysChecked = latest.size;
  return finish(cluster, checkers, report);
}

export function runScenario(options: ScenarioOptions): RunReport {
  switch (options.scenario) {
    case 'converge':
      return converge(options);
    case 'crash':
      return crash(options);
    case 'calm':
      return calm(options);
    case 'partition':
      return partition(options);
    case 'stall':
      return stall(options);
    case 'churn':
      return churn(options);
    case 'canary':
      return partition(options, true);
  }
}
