/**
 * The four fault scenarios of the side-by-side benchmark, run the same way against both systems on a
 * formed cluster: random loss, stalled agents, partitions that heal, and a mass restart. It owns the
 * timing of each fault and the counting of false verdicts.
 *
 * A false verdict is one (observer, member) pair where the observer reported a live member failed (Serf)
 * or down (grapevine). In the loss scenario every agent is live, so every such report is false; in the
 * stall scenario a 2-second stall is not a failure, so reports against the stalled agent and reports by it
 * are both false.
 */
import { type Agent, type BenchCluster, type RecordedVerdict, sleep } from './cluster.js';
import { DEADLINES, log, pick } from './measure.js';

function failedVerdicts(cluster: BenchCluster, fromMs: number, toMs: number): RecordedVerdict[] {
  return cluster.verdicts.filter(
    (verdict) => verdict.status === 'failed' && verdict.atMs >= fromMs && verdict.atMs <= toMs,
  );
}

function suspicions(cluster: BenchCluster, fromMs: number, toMs: number): number {
  return cluster.verdicts.filter(
    (verdict) => verdict.status === 'suspect' && verdict.atMs >= fromMs && verdict.atMs <= toMs,
  ).length;
}

/** A duration for the log: seconds with one decimal, or "never" when a deadline passed. */
function seconds(value: number | null): string {
  return value === null ? 'never' : `${value.toFixed(1)} s`;
}

/** Seconds until `check` holds, or null when the deadline passed first. */
async function secondsUntil(cluster: BenchCluster, label: string, check: () => boolean, timeoutMs: number) {
  const startedAt = performance.now();
  try {
    return ((await cluster.waitUntil(label, check, timeoutMs)) - startedAt) / 1000;
  } catch (error) {
    log(`${cluster.system.name}: ${(error as Error).message}; ${cluster.describeViews()}`);
    return null;
  }
}

export interface LossResult {
  readonly lossPercent: number;
  readonly durationSeconds: number;
  readonly falseVerdicts: number;
  /** Distinct members reported failed at least once. */
  readonly accused: number;
  readonly suspicions: number;
}

/** `percent` loss on every agent's input and output for `durationMs`. */
export async function runLoss(cluster: BenchCluster, options: { percent: number; durationMs: number }) {
  await cluster.network.setLoss(options.percent);
  const startedAt = performance.now();
  try {
    await sleep(options.durationMs);
  } finally {
    await cluster.network.setLoss(0);
  }
  const endedAt = performance.now();
  const verdicts = failedVerdicts(cluster, startedAt, endedAt);
  const result: LossResult = {
    lossPercent: options.percent,
    durationSeconds: (endedAt - startedAt) / 1000,
    falseVerdicts: verdicts.length,
    accused: new Set(verdicts.map((verdict) => verdict.member)).size,
    suspicions: suspicions(cluster, startedAt, endedAt),
  };
  log(
    `${cluster.system.name}: ${options.percent}% loss: ${result.falseVerdicts} false verdicts on ${result.accused} members`,
  );
  return result;
}

export interface StallResult {
  readonly victim: string;
  readonly shortStalls: number;
  readonly shortStallMs: number;
  readonly falseAgainst: number;
  readonly falseBy: number;
  readonly longStalls: number;
  readonly longStallMs: number;
  /** Long stalls after which every other agent reported the victim failed before it resumed. */
  readonly longDetected: number;
  /** Seconds from SIGSTOP until every other agent reported it, for the detected long stalls. */
  readonly longDetectionSeconds: readonly number[];
}

export interface StallOptions {
  readonly durationMs: number;
  readonly periodMs: number;
  readonly shortStallMs: number;
  readonly longStallMs: number;
  readonly longStalls: number;
  readonly random: () => number;
}

/** Stops one agent for `shortStallMs` every `periodMs` (SIGSTOP, SIGCONT), then for `longStallMs` a few times. */
export async function runStalls(cluster: BenchCluster, options: StallOptions): Promise<StallResult> {
  const victim = pick(cluster.agents.slice(1), options.random);
  const others = cluster.agents.filter((agent) => agent !== victim);
  const startedAt = performance.now();
  const shortStalls = Math.max(1, Math.floor(options.durationMs / options.periodMs));
  for (let index = 0; index < shortStalls; index++) {
    await stall(cluster, victim, options.shortStallMs);
    await sleep(options.periodMs - options.shortStallMs);
  }
  const endedAt = performance.now();
  const verdicts = failedVerdicts(cluster, startedAt, endedAt);
  const falseAgainst = verdicts.filter((verdict) => verdict.member === victim.name).length;
  const falseBy = verdicts.filter((verdict) => verdict.observer === victim.name).length;
  log(
    `${cluster.system.name}: ${shortStalls} stalls of ${options.shortStallMs} ms: ${falseAgainst} false verdicts against, ${falseBy} by ${victim.name}`,
  );
  const longDetectionSeconds: number[] = [];
  for (let index = 0; index < options.longStalls; index++) {
    await cluster.waitUntil(
      'all alive before a long stall',
      () => cluster.allSeeAlive(),
      DEADLINES.convergeMs,
    );
    // A quiet gap, so that no suspicion left over from the last stall (invisible in Serf's member list)
    // ripens during the next one.
    await sleep(options.periodMs);
    const detected = await longStall(cluster, victim, others, options.longStallMs);
    if (detected !== null) longDetectionSeconds.push(detected);
  }
  await cluster.waitUntil(
    'all alive after the long stalls',
    () => cluster.allSeeAlive(),
    DEADLINES.convergeMs,
  );
  return {
    victim: victim.name,
    shortStalls,
    shortStallMs: options.shortStallMs,
    falseAgainst,
    falseBy,
    longStalls: options.longStalls,
    longStallMs: options.longStallMs,
    longDetected: longDetectionSeconds.length,
    longDetectionSeconds,
  };
}

async function stall(cluster: BenchCluster, victim: Agent, stallMs: number): Promise<void> {
  cluster.signal(victim, 'SIGSTOP');
  try {
    await sleep(stallMs);
  } finally {
    cluster.signal(victim, 'SIGCONT');
  }
}

/** One long stall; returns the seconds until every other agent reported the victim failed, or null. */
async function longStall(cluster: BenchCluster, victim: Agent, others: readonly Agent[], stallMs: number) {
  const stoppedAt = performance.now();
  cluster.signal(victim, 'SIGSTOP');
  let detectedAt: number | null = null;
  try {
    detectedAt = await cluster.waitUntil(
      `${victim.name} detected while stopped`,
      () => cluster.allSeeFailed(others, victim),
      stallMs,
    );
  } catch {
    // Not detected by everyone within the stall; the log below says how far detection got.
  }
  const remainingMs = stallMs - (performance.now() - stoppedAt);
  if (remainingMs > 0) await sleep(remainingMs);
  const markedBy = others.filter((agent) => cluster.allSeeFailed([agent], victim)).length;
  const firstVerdict = cluster.verdicts.find(
    (verdict) => verdict.member === victim.name && verdict.status === 'failed' && verdict.atMs >= stoppedAt,
  );
  cluster.signal(victim, 'SIGCONT');
  const seconds = detectedAt === null ? null : (detectedAt - stoppedAt) / 1000;
  const first =
    firstVerdict === undefined ? 'none' : `${((firstVerdict.atMs - stoppedAt) / 1000).toFixed(2)} s`;
  log(
    `${cluster.system.name}: ${stallMs} ms stall of ${victim.name}: ` +
      `${seconds === null ? 'not detected by all' : `detected by all in ${seconds.toFixed(2)} s`} ` +
      `(first verdict ${first}; ${markedBy} of ${others.length} had it failed when it resumed)`,
  );
  return seconds;
}

export interface PartitionResult {
  readonly sides: readonly [number, number];
  readonly oneWayHoldSeconds: number;
  readonly oneWayVerdicts: number;
  /** Seconds from healing the one-way partition until every agent sees every other alive. */
  readonly oneWayReconvergeSeconds: number | null;
  /** Seconds from the cut until each side reported the whole other side failed. */
  readonly splitDetectedSeconds: number | null;
  readonly splitReconvergeSeconds: number | null;
}

/**
 * Two partitions between the two halves of the cluster: first one-way (the second half cannot send to the
 * first, the first still reaches the second) for `oneWayHoldMs`, then a full split held until each side
 * reports the other failed. Each is healed, and the time until all agents see all alive again is measured.
 */
export async function runPartitions(cluster: BenchCluster, options: { oneWayHoldMs: number }) {
  const nodes = cluster.agents;
  const half = Math.floor(nodes.length / 2);
  const sideA = nodes.slice(0, half);
  const sideB = nodes.slice(half);
  const name = cluster.system.name;
  const network = cluster.network;
  const nodesOf = (agents: readonly Agent[]) => agents.map((agent) => agent.node);

  const oneWayAt = performance.now();
  await network.cutOneWay({ from: nodesOf(sideB), to: nodesOf(sideA) });
  await sleep(options.oneWayHoldMs);
  const oneWayVerdicts = failedVerdicts(cluster, oneWayAt, performance.now()).length;
  await network.heal();
  const oneWayReconvergeSeconds = await secondsUntil(
    cluster,
    'reconvergence after the one-way partition',
    () => cluster.allSeeAlive(),
    DEADLINES.convergeMs,
  );
  log(
    `${name}: one-way partition: ${oneWayVerdicts} failed verdicts, reconverged in ${seconds(oneWayReconvergeSeconds)}`,
  );

  await network.cut(nodesOf(sideA), nodesOf(sideB));
  const splitDetectedSeconds = await secondsUntil(
    cluster,
    'each side to report the other failed',
    () =>
      sideB.every((member) => cluster.allSeeFailed(sideA, member)) &&
      sideA.every((member) => cluster.allSeeFailed(sideB, member)),
    DEADLINES.convergeMs,
  );
  await network.heal();
  const splitReconvergeSeconds = await secondsUntil(
    cluster,
    'reconvergence after the split',
    () => cluster.allSeeAlive(),
    DEADLINES.convergeMs,
  );
  log(
    `${name}: split ${sideA.length}/${sideB.length}: sides marked in ${seconds(splitDetectedSeconds)}, reconverged in ${seconds(splitReconvergeSeconds)}`,
  );
  const result: PartitionResult = {
    sides: [sideA.length, sideB.length],
    oneWayHoldSeconds: options.oneWayHoldMs / 1000,
    oneWayVerdicts,
    oneWayReconvergeSeconds,
    splitDetectedSeconds,
    splitReconvergeSeconds,
  };
  return result;
}

export interface RestartResult {
  /** Seconds from the first kill until every agent sees every other alive, or null if it never did. */
  readonly convergedSeconds: number | null;
  /** Failed verdicts during the hold after convergence (a late flap counts against the restart). */
  readonly verdictsAfter: number;
  /** Agents whose API, at the end of the hold, did not list every other agent alive. */
  readonly wrongViews: number;
}

/**
 * Kills and immediately restarts every agent, one right after the other (the whole cluster turns over in
 * about a second), each new process joining through two other agents with retries: new incarnations meet
 * peers that still hold their predecessors, the race of memberlist#345. No one acts after that. Once all
 * see all alive, the cluster is watched for `holdMs` more and every agent's API is read at the end.
 */
export async function runMassRestart(
  cluster: BenchCluster,
  options: { holdMs: number },
): Promise<RestartResult> {
  const agents = cluster.agents;
  const startedAt = performance.now();
  for (const [index, agent] of agents.entries()) {
    const seeds = [agents[(index + 1) % agents.length], agents[(index + 2) % agents.length]]
      .filter((seed): seed is Agent => seed !== undefined && seed !== agent)
      .map((seed) => cluster.gossipAddress(seed));
    await cluster.kill(agent);
    cluster.start(agent, { join: seeds, retryJoin: true });
  }
  let convergedSeconds: number | null = null;
  try {
    const label = 'every agent to see all alive after the restart';
    const convergedAt = await cluster.waitUntil(label, () => cluster.allSeeAlive(), DEADLINES.convergeMs);
    convergedSeconds = (convergedAt - startedAt) / 1000;
  } catch (error) {
    log(`${cluster.system.name}: ${(error as Error).message}; ${cluster.describeViews()}`);
  }
  const holdFrom = performance.now();
  await sleep(options.holdMs);
  const verdictsAfter = failedVerdicts(cluster, holdFrom, performance.now()).length;
  let wrongViews = 0;
  for (const agent of cluster.running()) {
    const members = await cluster.system.readMembers(cluster, agent).catch(() => new Map());
    if (agents.some((other) => other !== agent && members.get(other.name) !== 'alive')) wrongViews += 1;
  }
  log(
    `${cluster.system.name}: mass restart: converged in ${seconds(convergedSeconds)}, then ` +
      `${verdictsAfter} failed verdicts in ${options.holdMs / 1000} s, ${wrongViews} wrong views at the end`,
  );
  return { convergedSeconds, verdictsAfter, wrongViews };
}
