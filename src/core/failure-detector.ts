/**
 * Phi accrual failure detection, as pure functions over per-member statistics.
 *
 * Definition (docs/protocol.md, "Failure detection"). For a member whose heartbeat last increased `t`
 * milliseconds ago, whose heartbeat inter-arrival times have mean `mu` and standard deviation `sigma`
 * (floored at `minStdDeviationMs`), and with an acceptable pause `pause`:
 *
 *     phi(t) = -log10 P(X > t),  where X = pause + max(0, mu - sigma) + Exponential(mean sigma)
 *
 * that is, phi(t) = max(0, t - pause - max(0, mu - sigma)) / (sigma * ln 10).
 *
 * Why this distribution: heartbeats relayed by gossip arrive at a random node with a memoryless,
 * exponential-like tail (each round may or may not bring a fresher value), and a normal model (Hayashibara
 * et al., Akka) underestimates that tail by orders of magnitude: in simulation at 1,000 nodes it produced
 * hundreds of thousands of false suspicions where this model produces none. Shifting by `mu - sigma` keeps
 * the detector sharp for regular arrivals (a watcher's direct heartbeats: small sigma), and for Poisson-like
 * arrivals (sigma close to mu) it reduces to Cassandra's phi = t / (mu ln 10). So phi = 1 means a 10% chance
 * that a heartbeat this late still arrives, phi = 8 means 10^-8, under the fitted model. Cassandra
 * multiplies by log10(e) and chitchat uses t / mu; their 8 is not this 8.
 *
 * Mean and variance are exponentially weighted (an effective window of `windowSamples` intervals) rather
 * than a sliding window, so each member costs 8 bytes of statistics: at 10,000 members on each of 10,000
 * simulated nodes, that matters.
 */

export function phi(silenceMs: number, meanMs: number, stdMs: number, pauseMs: number): number {
  const excess = silenceMs - pauseMs - Math.max(0, meanMs - stdMs);
  return excess <= 0 ? 0 : excess / (stdMs * Math.LN10);
}

/** Silence (ms since the last heartbeat increase) at which phi reaches `threshold`: the inverse of `phi`. */
export function silenceAtThreshold(
  threshold: number,
  meanMs: number,
  stdMs: number,
  pauseMs: number,
): number {
  return pauseMs + Math.max(0, meanMs - stdMs) + threshold * stdMs * Math.LN10;
}

/** Mean and variance of heartbeat inter-arrival times, as foldInterval updates them. */
export interface IntervalStatistics {
  meanMs: number;
  varianceMs2: number;
}

/**
 * Folds one inter-arrival sample into `statistics`, in place: exponentially weighted with weight `alpha`
 * (2 / (window + 1)), but early samples weigh more, as in a running mean in which the prior counts as two
 * samples; `count` is the samples folded in so far. With none, the prior (mean `priorMs`, deviation half of
 * it) stands in for the statistics, whatever they hold.
 */
export function foldInterval(
  statistics: IntervalStatistics,
  count: number,
  sampleMs: number,
  alpha: number,
  priorMs: number,
): void {
  let mean = statistics.meanMs;
  let variance = statistics.varianceMs2;
  if (count === 0) {
    mean = priorMs;
    variance = (priorMs / 2) ** 2;
  }
  const weight = Math.max(alpha, 1 / (count + 3));
  const delta = sampleMs - mean;
  statistics.meanMs = mean + weight * delta;
  statistics.varianceMs2 = (1 - weight) * (variance + weight * delta * delta);
}

/** Exponentially weighted update of mean and variance with one new sample, long after the first ones. */
export function updateStatistics(
  meanMs: number,
  varianceMs2: number,
  sampleMs: number,
  windowSamples: number,
): { meanMs: number; varianceMs2: number } {
  const statistics = { meanMs, varianceMs2 };
  foldInterval(statistics, Number.POSITIVE_INFINITY, sampleMs, 2 / (windowSamples + 1), meanMs);
  return statistics;
}

export function effectiveStd(varianceMs2: number, minStdDeviationMs: number): number {
  const std = Math.sqrt(varianceMs2);
  return Math.max(std, minStdDeviationMs);
}
