/**
 * The monotonic checker must be able to fail: a node whose view moves a member's heartbeat, version or
 * generation back between two samples is reported, whether the member lists of the two samples line up or
 * a member joined in between. The core never does this, so the test makes a node's view lie.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Checkers, type Violation } from '../../src/sim/checkers.js';
import { SimCluster } from '../../src/sim/cluster.js';

function lyingCluster(
  lie: (names: string[], values: Float64Array) => { names: string[]; values: Float64Array },
) {
  const cluster = new SimCluster({ nodes: 12, seed: 7 });
  const checkers = new Checkers(cluster, 12);
  cluster.startSettled();
  cluster.runFor(3000);
  assert.equal(checkers.violations.length, 0, 'an honest cluster reports nothing');
  const node = cluster.hosts[3]!.node;
  const honest = node.memberVersions.bind(node);
  node.memberVersions = () => {
    const { names, values } = honest();
    return lie(names, values);
  };
  cluster.runFor(3000);
  return checkers.violations.filter((violation: Violation) => violation.checker === 'monotonic');
}

test('a heartbeat, a version or a generation that goes back is reported', () => {
  let calls = 0;
  const heartbeat = lyingCluster((names, values) => {
    // Every other sample, member 5's heartbeat is ten lower than the truth.
    if (calls++ % 2 === 1) values[3 * 5 + 1] = values[3 * 5 + 1]! - 10;
    return { names, values };
  });
  assert.ok(
    heartbeat.some((violation) => /heartbeat back/.test(violation.message)),
    'heartbeat reported',
  );
  calls = 0;
  const version = lyingCluster((names, values) => {
    if (calls++ % 2 === 0) values[3 * 2 + 2] = values[3 * 2 + 2]! + 5;
    return { names, values };
  });
  assert.ok(
    version.some((violation) => /version back/.test(violation.message)),
    'version reported',
  );
  calls = 0;
  const generation = lyingCluster((names, values) => {
    if (calls++ % 2 === 0) values[3 * 7] = values[3 * 7]! + 1;
    return { names, values };
  });
  assert.ok(
    generation.some((violation) => /back from generation/.test(violation.message)),
    'generation reported',
  );
});

test('a member that went back is found also when the lists no longer line up', () => {
  let calls = 0;
  const violations = lyingCluster((names, values) => {
    // Every other sample, a stranger appears at the front, shifting every position by one.
    if (calls++ % 2 === 0) {
      values[3 * 9 + 1] = values[3 * 9 + 1]! + 10;
      return { names, values };
    }
    const shifted = new Float64Array(values.length + 3);
    shifted.set([1, 1, 0], 0);
    shifted.set(values, 3);
    return { names: ['stranger', ...names], values: shifted };
  });
  assert.ok(violations.some((violation) => /heartbeat back/.test(violation.message)));
});
