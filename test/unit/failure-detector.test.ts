/**
 * Proves the failure detector's arithmetic against its documented definition: phi is -log10 of the tail of
 * a shifted exponential (pause + max(0, mean - std) + Exponential(mean std)), `silenceAtThreshold` is its
 * exact inverse, the standard deviation has a floor, and the exponentially weighted statistics converge to a
 * constant sample at the documented rate.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { effectiveStd, phi, silenceAtThreshold, updateStatistics } from '../../src/core/failure-detector.js';

/** -log10 P(X > t) for X = pause + max(0, mean - std) + Exponential(mean std), straight from the definition. */
function phiFromDistribution(silenceMs: number, meanMs: number, stdMs: number, pauseMs: number): number {
  const shift = pauseMs + Math.max(0, meanMs - stdMs);
  const survival = silenceMs <= shift ? 1 : Math.exp(-(silenceMs - shift) / stdMs);
  return -Math.log10(survival);
}

function near(actual: number, expected: number, message: string, tolerance = 1e-9): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)),
    `${message}: ${actual} vs ${expected}`,
  );
}

test('phi at chosen points equals -log10 of the fitted tail probability', () => {
  // mean 1000 ms, std 200 ms, pause 1500 ms: the tail starts at 1500 + 800 = 2300 ms.
  const table: [silenceMs: number, meanMs: number, stdMs: number, pauseMs: number, expected: number][] = [
    [0, 1000, 200, 1500, 0],
    [2300, 1000, 200, 1500, 0],
    [2300 + 200 * Math.LN10, 1000, 200, 1500, 1],
    [2300 + 3 * 200 * Math.LN10, 1000, 200, 1500, 3],
    [2300 + 8 * 200 * Math.LN10, 1000, 200, 1500, 8],
    // No pause: the tail starts at mean - std.
    [800 + 2 * 200 * Math.LN10, 1000, 200, 0, 2],
    // std above the mean: no shift at all.
    [500 * Math.LN10, 300, 500, 0, 1],
  ];
  for (const [silenceMs, meanMs, stdMs, pauseMs, expected] of table) {
    const label = `phi(${silenceMs}, ${meanMs}, ${stdMs}, ${pauseMs})`;
    near(phi(silenceMs, meanMs, stdMs, pauseMs), expected, label);
    near(phiFromDistribution(silenceMs, meanMs, stdMs, pauseMs), expected, `definition of ${label}`);
  }
});

test('phi agrees with the distribution everywhere (property)', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 1e6, noNaN: true }),
      fc.double({ min: 1, max: 1e5, noNaN: true }),
      fc.double({ min: 1, max: 1e5, noNaN: true }),
      fc.double({ min: 0, max: 1e5, noNaN: true }),
      (silenceMs, meanMs, stdMs, pauseMs) => {
        const expected = phiFromDistribution(silenceMs, meanMs, stdMs, pauseMs);
        // The distribution form loses precision once exp underflows; compare where it is meaningful.
        if (expected > 250) return true;
        near(phi(silenceMs, meanMs, stdMs, pauseMs), expected, 'phi', 1e-7);
        return true;
      },
    ),
    { numRuns: 500 },
  );
});

test('for Poisson-like arrivals (std equal to the mean) phi is t / (mean ln 10), as in Cassandra', () => {
  for (const silenceMs of [0, 100, 1000, 18_420]) {
    near(phi(silenceMs, 1000, 1000, 0), silenceMs / (1000 * Math.LN10), `t=${silenceMs}`);
  }
});

test('phi never decreases as silence grows', () => {
  let previous = 0;
  for (let silenceMs = 0; silenceMs <= 20_000; silenceMs += 37) {
    const value = phi(silenceMs, 1000, 300, 1500);
    assert.ok(value >= previous, `phi fell at ${silenceMs}`);
    previous = value;
  }
});

test('silenceAtThreshold is the exact inverse of phi', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0.01, max: 100, noNaN: true }),
      fc.double({ min: 1, max: 1e5, noNaN: true }),
      fc.double({ min: 1, max: 1e5, noNaN: true }),
      fc.double({ min: 0, max: 1e5, noNaN: true }),
      (threshold, meanMs, stdMs, pauseMs) => {
        const silence = silenceAtThreshold(threshold, meanMs, stdMs, pauseMs);
        near(phi(silence, meanMs, stdMs, pauseMs), threshold, 'phi(silenceAtThreshold)', 1e-9);
        const later = silence + 1;
        near(
          silenceAtThreshold(phi(later, meanMs, stdMs, pauseMs), meanMs, stdMs, pauseMs),
          later,
          'inverse',
        );
        return true;
      },
    ),
    { numRuns: 500 },
  );
  // Threshold 0 is where the tail starts.
  assert.equal(silenceAtThreshold(0, 1000, 200, 1500), 2300);
});

test('the standard deviation is floored at minStdDeviationMs', () => {
  const table: [varianceMs2: number, floorMs: number, expected: number][] = [
    [0, 200, 200],
    [100 ** 2, 200, 200],
    [200 ** 2, 200, 200],
    [500 ** 2, 200, 500],
    [500 ** 2, 1000, 1000],
  ];
  for (const [variance, floor, expected] of table) assert.equal(effectiveStd(variance, floor), expected);
});

test('the weighted mean moves by alpha = 2 / (window + 1) of the error each sample', () => {
  const windowSamples = 9;
  const alpha = 2 / (windowSamples + 1);
  const next = updateStatistics(1000, 0, 500, windowSamples);
  near(next.meanMs, 1000 + alpha * (500 - 1000), 'mean after one sample');
  assert.ok(next.varianceMs2 > 0, 'a surprising sample raises the variance');
});

test('the statistics converge to a constant sample: mean to it, variance to zero', () => {
  const windowSamples = 32;
  const alpha = 2 / (windowSamples + 1);
  let state = { meanMs: 1000, varianceMs2: 250_000 };
  let previousVariance = Number.POSITIVE_INFINITY;
  for (let n = 1; n <= 400; n++) {
    state = updateStatistics(state.meanMs, state.varianceMs2, 400, windowSamples);
    near(state.meanMs, 400 + (1 - alpha) ** n * 600, `mean after ${n} samples`, 1e-9);
    // The first samples surprise the old mean and may raise the variance; once the mean has caught up, it
    // only shrinks.
    if (n > 50) assert.ok(state.varianceMs2 < previousVariance, `the variance grew at sample ${n}`);
    previousVariance = state.varianceMs2;
  }
  assert.ok(Math.abs(state.meanMs - 400) < 1e-6);
  assert.ok(state.varianceMs2 < 1e-3, `variance ${state.varianceMs2}`);
});

test('alternating samples settle at their average with a variance near the squared spread', () => {
  let state = { meanMs: 0, varianceMs2: 0 };
  for (let n = 0; n < 2000; n++) {
    state = updateStatistics(state.meanMs, state.varianceMs2, n % 2 === 0 ? 900 : 1100, 32);
  }
  assert.ok(Math.abs(state.meanMs - 1000) < 10, `mean ${state.meanMs}`);
  const spread = 100 ** 2;
  assert.ok(state.varianceMs2 > 0.5 * spread && state.varianceMs2 < 1.5 * spread, `${state.varianceMs2}`);
});
