/**
 * Simulation tier: seeded runs of the production core under faults, with the invariant checkers on. Each
 * test states the property it proves; a failing seed is printed and replays with `grapevine sim --seed`.
 * Sizes are kept small here so the suite stays fast; docs/benchmarks.md holds the large runs.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runScenario } from '../../src/sim/scenarios.js';

function noViolations(report: {
  violations: readonly { checker: string; message: string }[];
  seed: number;
}): void {
  assert.deepEqual(
    report.violations.map((violation) => `${violation.checker}: ${violation.message}`),
    [],
    `seed ${report.seed} reported violations`,
  );
}

test('a new key reaches all 100 nodes within 5 rounds, for 5 seeds', () => {
  for (let seed = 1; seed <= 5; seed++) {
    const report = runScenario({ scenario: 'converge', nodes: 100, seed, lossRate: 0 });
    noViolations(report);
    assert.ok(
      report.convergenceRounds !== null && report.convergenceRounds <= 5,
      `seed ${seed}: ${report.convergenceRounds} rounds`,
    );
    assert.ok(report.largestDatagramBytes <= 1400);
    assert.equal(report.falsePositives, 0);
  }
});

test('with 10% loss a new key still reaches all 200 nodes within 7 rounds', () => {
  for (let seed = 1; seed <= 3; seed++) {
    const report = runScenario({ scenario: 'converge', nodes: 200, seed, lossRate: 0.1 });
    noViolations(report);
    assert.ok(
      report.convergenceRounds !== null && report.convergenceRounds <= 7,
      `seed ${seed}: ${report.convergenceRounds}`,
    );
  }
});

test('a crashed process is marked down by every live node within 4 s, without false verdicts', () => {
  for (let seed = 1; seed <= 3; seed++) {
    const report = runScenario({ scenario: 'crash', nodes: 50, seed, lossRate: 0 });
    noViolations(report);
    assert.ok(
      report.detectionAllSeconds !== null && report.detectionAllSeconds < 4,
      `seed ${seed}: ${report.detectionAllSeconds}`,
    );
  }
});

test('a silent host (no connection refused) is detected through phi within 10 s', () => {
  const report = runScenario({ scenario: 'crash', nodes: 50, seed: 4, lossRate: 0, silent: true });
  noViolations(report);
  assert.ok(
    report.detectionAllSeconds !== null && report.detectionAllSeconds < 10,
    `${report.detectionAllSeconds}`,
  );
});

test('with paged digests (heartbeats relayed every few rounds) watchers still catch crashes fast', () => {
  // 120 nodes in pages of 8: a non-watcher hears a member's heartbeat about every 7 rounds, a watcher every
  // round. The watcher's statistics must be its own, not what it learned while it was not yet one.
  const gossip = { pageEntriesMax: 8 };
  for (let seed = 1; seed <= 2; seed++) {
    const crash = runScenario({ scenario: 'crash', nodes: 120, seed, lossRate: 0, gossip });
    noViolations(crash);
    assert.ok(
      crash.detectionAllSeconds !== null && crash.detectionAllSeconds < 4,
      `process crash, seed ${seed}: ${crash.detectionAllSeconds}`,
    );
    const silent = runScenario({ scenario: 'crash', nodes: 120, seed, lossRate: 0, gossip, silent: true });
    noViolations(silent);
    assert.ok(
      silent.detectionAllSeconds !== null && silent.detectionAllSeconds < 10,
      `silent host, seed ${seed}: ${silent.detectionAllSeconds}`,
    );
  }
});

test('no false down verdict in ten simulated minutes at 5% loss', () => {
  const report = runScenario({ scenario: 'calm', nodes: 50, seed: 9, lossRate: 0.05, durationMs: 600_000 });
  noViolations(report);
  assert.equal(report.falsePositives, 0);
});

test('after a 3/3-style split heals, updates from before and during it reach everyone and views agree', () => {
  for (let seed = 1; seed <= 2; seed++) {
    const report = runScenario({ scenario: 'partition', nodes: 40, seed, lossRate: 0 });
    noViolations(report);
    assert.equal(report.details.statusAcrossSplit, 'down', 'each side marks the other down during the split');
    assert.equal(typeof report.details.healSeconds, 'number');
  }
});

test('2-second stalls cause no verdict against or by the stalled node; 8-second stalls are detected', () => {
  const report = runScenario({ scenario: 'stall', nodes: 20, seed: 3, lossRate: 0, durationMs: 120_000 });
  noViolations(report);
  assert.equal(report.details.shortStallVerdictsAgainst, 0);
  assert.equal(report.details.shortStallVerdictsBy, 0);
  assert.equal(report.details.longStallsDetected, 3);
});

test('crashes, restarts, stalls and partitions under loss, duplication and reordering end in one view', () => {
  for (let seed = 1; seed <= 3; seed++) {
    const report = runScenario({ scenario: 'churn', nodes: 30, seed, lossRate: 0.05, durationMs: 60_000 });
    noViolations(report);
  }
});

test('the canary (a planted bug corrupting the deltas one node sends) is caught by the checkers', () => {
  const report = runScenario({ scenario: 'canary', nodes: 20, seed: 1, lossRate: 0 });
  assert.ok(
    report.violations.some((violation) => violation.checker === 'convergence'),
    'the harness must catch the canary',
  );
});

test('the same seed replays the same run exactly', () => {
  const first = runScenario({ scenario: 'churn', nodes: 20, seed: 77, lossRate: 0.05, durationMs: 30_000 });
  const second = runScenario({ scenario: 'churn', nodes: 20, seed: 77, lossRate: 0.05, durationMs: 30_000 });
  assert.deepEqual(second, first);
});
