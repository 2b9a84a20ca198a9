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
  // Every other sample, one column of one member is off: lower than the truth in the later sample (the
  // heartbeat), or higher in the earlier one (the version and the generation).
  const cases = [
    { field: 1, member: 5, lieOn: 1, change: -10, reported: /heartbeat back/ },
    { field: 2, member: 2, lieOn: 0, change: 5, reported: /version back/ },
    { field: 0, member: 7, lieOn: 0, change: 1, reported: /back from generation/ },
  ];
  for (const { field, member, lieOn, change, reported } of cases) {
    let calls = 0;
    const violations = lyingCluster((names, values) => {
      const at = 3 * member + field;
      if (calls++ % 2 === lieOn) values[at] = values[at]! + change;
      return { names, values };
    });
    assert.ok(
      violations.some((violation) => reported.test(violation.message)),
      `${reported} reported`,
    );
  }
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
