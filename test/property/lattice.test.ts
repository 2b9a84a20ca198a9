/**
 * Proves that the two merge functions everything a node learns goes through are join-semilattices:
 * joinLiveness and joinStates are commutative, associative and idempotent, and each join is an upper bound
 * of its inputs (liveness: the lexicographically later (generation, heartbeat, status); state: per key the
 * higher version, with maxVersionOf the larger of the two).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  compareLiveness,
  joinLiveness,
  joinStates,
  type Liveness,
  maxVersionOf,
  type StateSnapshot,
  type VersionedEntry,
} from '../../src/core/lattice.js';

const liveness: fc.Arbitrary<Liveness> = fc.record(
  {
    generation: fc.integer({ min: 0, max: 3 }),
    heartbeat: fc.integer({ min: 0, max: 5 }),
    status: fc.integer({ min: 0, max: 3 }),
  },
  { noNullPrototype: true },
);

interface Write {
  readonly key: string;
  readonly entry: VersionedEntry;
}

/**
 * Writes of one owner: versions are unique per owner (1, 2, 3, ... in write order), so two entries with the
 * same version are the same write. Keys come from a small set so that writes overwrite each other.
 */
const writes: fc.Arbitrary<Write[]> = fc
  .array(
    fc.record(
      {
        key: fc.constantFrom('a', 'b', 'c', 'd'),
        value: fc.option(fc.string({ maxLength: 3 }), { nil: null }),
      },
      { noNullPrototype: true },
    ),
    { maxLength: 12 },
  )
  .map((items) =>
    items.map((item, index) => ({ key: item.key, entry: { value: item.value, version: index + 1 } })),
  );

/** Three states, each holding a random subset of one owner's writes (as three nodes might). */
const threeStates: fc.Arbitrary<[StateSnapshot, StateSnapshot, StateSnapshot]> = writes.chain((all) => {
  const subset = fc.subarray(all).map((chosen) => stateOf(chosen));
  return fc.tuple(subset, subset, subset);
});

/** The state a node holds after seeing `chosen` writes in any order: per key, the highest version. */
function stateOf(chosen: readonly Write[]): StateSnapshot {
  const state = new Map<string, VersionedEntry>();
  for (const { key, entry } of chosen) {
    const current = state.get(key);
    if (current === undefined || entry.version > current.version) state.set(key, entry);
  }
  return state;
}

function sorted(state: StateSnapshot): [string, VersionedEntry][] {
  return [...state].sort(([a], [b]) => (a < b ? -1 : 1));
}

const RUNS = { numRuns: 1000 };

test('joinLiveness is commutative, associative and idempotent', () => {
  fc.assert(
    fc.property(liveness, liveness, liveness, (a, b, c) => {
      assert.deepEqual(joinLiveness(a, b), joinLiveness(b, a));
      assert.deepEqual(joinLiveness(joinLiveness(a, b), c), joinLiveness(a, joinLiveness(b, c)));
      assert.deepEqual(joinLiveness(a, a), a);
    }),
    RUNS,
  );
});

test('joinLiveness is the later of its inputs: newer generation, then higher heartbeat, then later status', () => {
  fc.assert(
    fc.property(liveness, liveness, (a, b) => {
      const joined = joinLiveness(a, b);
      assert.ok(compareLiveness(joined, a) >= 0 && compareLiveness(joined, b) >= 0);
      assert.ok(joined === a || joined === b, 'a join picks one of its inputs');
      const expected =
        a.generation !== b.generation
          ? a.generation > b.generation
            ? a
            : b
          : a.heartbeat !== b.heartbeat
            ? a.heartbeat > b.heartbeat
              ? a
              : b
            : a.status >= b.status
              ? a
              : b;
      assert.deepEqual(joined, expected);
    }),
    RUNS,
  );
  // The rules in words: a newer heartbeat refutes a verdict, a verdict at the same heartbeat wins.
  const suspect = { generation: 1, heartbeat: 5, status: 1 };
  assert.deepEqual(joinLiveness(suspect, { generation: 1, heartbeat: 6, status: 0 }).status, 0);
  assert.deepEqual(joinLiveness(suspect, { generation: 1, heartbeat: 5, status: 0 }).status, 1);
  assert.deepEqual(joinLiveness(suspect, { generation: 2, heartbeat: 0, status: 0 }).generation, 2);
});

test('joinStates is commutative, associative and idempotent', () => {
  fc.assert(
    fc.property(threeStates, ([a, b, c]) => {
      assert.deepEqual(sorted(joinStates(a, b)), sorted(joinStates(b, a)));
      assert.deepEqual(sorted(joinStates(joinStates(a, b), c)), sorted(joinStates(a, joinStates(b, c))));
      assert.deepEqual(sorted(joinStates(a, a)), sorted(a));
    }),
    RUNS,
  );
});

test('joinStates keeps, per key, the higher version: the state of the union of the writes', () => {
  fc.assert(
    fc.property(
      writes.chain((all) => fc.tuple(fc.subarray(all), fc.subarray(all))),
      ([left, right]) => {
        const joined = joinStates(stateOf(left), stateOf(right));
        assert.deepEqual(sorted(joined), sorted(stateOf([...left, ...right])));
        assert.equal(
          maxVersionOf(joined),
          Math.max(maxVersionOf(stateOf(left)), maxVersionOf(stateOf(right))),
        );
      },
    ),
    RUNS,
  );
  assert.equal(maxVersionOf(new Map()), 0);
});

test('joinStates does not modify its inputs', () => {
  const a = new Map([['k', { value: 'old', version: 1 }]]);
  const b = new Map([['k', { value: 'new', version: 2 }]]);
  joinStates(a, b);
  assert.deepEqual([...a], [['k', { value: 'old', version: 1 }]]);
});
