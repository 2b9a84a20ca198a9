/**
 * Proves that gossip between real cores converges to the lattice join of everything written, whatever the
 * delivery order: for random small clusters (2 to 4 cores) with random writes and deletes, and deliveries
 * dropped, duplicated and reordered by a seeded rule, once deliveries are reliable again every node's view of
 * every owner's state equals joinStates of that owner's writes and all viewChecksum values agree. Throughout,
 * per node, no owner's maxVersion and no member's heartbeat within a generation ever goes backwards.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { GossipNode, Output } from '../../src/core/index.js';
import { joinStates, type StateSnapshot, type VersionedEntry } from '../../src/core/lattice.js';
import { CoreNetwork, RELIABLE } from '../support/cores.js';

interface Operation {
  readonly atMs: number;
  readonly node: number;
  readonly key: string;
  /** null deletes the key. */
  readonly value: string | null;
}

interface Scenario {
  readonly nodeCount: number;
  readonly seed: number;
  readonly dropRate: number;
  readonly duplicateRate: number;
  readonly reorder: boolean;
  /** Short enough in some runs that tombstones are collected and resets happen under faults. */
  readonly tombstoneGraceMs: number;
  readonly operations: readonly Operation[];
}

const CHAOS_MS = 20_000;
const SETTLE_MS = 40_000;

const scenario: fc.Arbitrary<Scenario> = fc
  .record(
    {
      nodeCount: fc.integer({ min: 2, max: 4 }),
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      dropRate: fc.constantFrom(0, 0.1, 0.3, 0.5),
      duplicateRate: fc.constantFrom(0, 0.1, 0.3),
      reorder: fc.boolean(),
      tombstoneGraceMs: fc.constantFrom(3_600_000, 4000),
      operations: fc.array(
        fc.record(
          {
            atMs: fc.integer({ min: 0, max: CHAOS_MS }),
            node: fc.nat(),
            key: fc.constantFrom('a', 'b', 'c'),
            value: fc.option(fc.constantFrom('x', 'y', 'z', ''), { nil: null, freq: 3 }),
          },
          { noNullPrototype: true },
        ),
        { maxLength: 25 },
      ),
    },
    { noNullPrototype: true },
  )
  .map((drawn) => ({
    ...drawn,
    operations: drawn.operations
      .map((operation) => ({ ...operation, node: operation.node % drawn.nodeCount }))
      .sort((a, b) => a.atMs - b.atMs),
  }));

/** Fails at the first step after which a node's view of a member or an owner went backwards. */
function watchMonotonicity(network: CoreNetwork): void {
  const seen = new Map<string, { generation: number; heartbeat: number; maxVersion: number }>();
  network.afterStep = (node: GossipNode) => {
    for (const member of node.members()) {
      const id = `${node.name}/${member.name}`;
      const last = seen.get(id);
      if (last !== undefined) {
        assert.ok(member.generation >= last.generation, `${id}: generation went back`);
        if (member.generation === last.generation) {
          assert.ok(
            member.heartbeat >= last.heartbeat,
            `${id}: heartbeat ${last.heartbeat} -> ${member.heartbeat}`,
          );
          assert.ok(
            member.maxVersion >= last.maxVersion,
            `${id}: maxVersion ${last.maxVersion} -> ${member.maxVersion}`,
          );
        }
      }
      seen.set(id, {
        generation: member.generation,
        heartbeat: member.heartbeat,
        maxVersion: member.maxVersion,
      });
    }
  };
}

/** The write a command made, read from the owner's own key-updated event (none for a no-op). */
function writeOf(outputs: readonly Output[], owner: string): { key: string; entry: VersionedEntry } | null {
  for (const output of outputs) {
    if (output.kind === 'event' && output.event.type === 'key-updated' && output.event.owner === owner) {
      const { key, value, version } = output.event;
      return { key, entry: { value, version } };
    }
  }
  return null;
}

function liveKeys(state: StateSnapshot): Record<string, string> {
  const live: Record<string, string> = {};
  for (const [key, entry] of state) if (entry.value !== null) live[key] = entry.value;
  return live;
}

function run(plan: Scenario): void {
  const network = new CoreNetwork({ seed: plan.seed, options: { tombstoneGraceMs: plan.tombstoneGraceMs } });
  const names = Array.from({ length: plan.nodeCount }, (_, index) => `n${index}`);
  for (const name of names) network.add({ name, options: { seeds: ['n0:1'] } });
  watchMonotonicity(network);
  network.faults = { dropRate: plan.dropRate, duplicateRate: plan.duplicateRate, reorder: plan.reorder };
  network.start(...names.map((name) => `${name}:1`));

  // Every owner's writes, each a one-key state; their join is what every node must end up holding.
  const written = new Map<string, StateSnapshot>(names.map((name) => [name, new Map()]));
  for (const operation of plan.operations) {
    network.runUntil(operation.atMs);
    const owner = names[operation.node]!;
    const address = `${owner}:1`;
    const outputs =
      operation.value === null
        ? network.delete(address, operation.key)
        : network.set(address, operation.key, operation.value);
    const write = writeOf(outputs, owner);
    if (write === null) continue;
    const previous = written.get(owner)!;
    assert.ok(
      [...previous.values()].every((entry) => entry.version < write.entry.version),
      'an owner numbers its writes upwards',
    );
    written.set(owner, joinStates(previous, new Map([[write.key, write.entry]])));
  }
  network.runUntil(CHAOS_MS);

  network.faults = RELIABLE;
  network.runFor(SETTLE_MS + (plan.tombstoneGraceMs < SETTLE_MS ? plan.tombstoneGraceMs : 0));

  for (const name of names) {
    const node = network.node(`${name}:1`);
    assert.equal(node.memberCount, plan.nodeCount, `${name} knows everyone`);
    for (const owner of names) {
      const expected = written.get(owner)!;
      const keys = node.keysOf(owner);
      assert.ok(keys !== undefined, `${name} knows ${owner}`);
      const held = Object.fromEntries([...keys].map(([key, { value }]) => [key, value]));
      assert.deepEqual(held, liveKeys(expected), `${name}'s view of ${owner}`);
      for (const [key, { version }] of keys)
        assert.equal(version, expected.get(key)?.version, `${owner}/${key}`);
      assert.equal(node.member(owner)?.status, 'alive', `${name} sees ${owner} alive`);
    }
  }
  const checksums = names.map((name) => network.node(`${name}:1`).viewChecksum());
  assert.equal(new Set(checksums).size, 1, `view checksums differ: ${checksums}`);
}

test('after faults end, every node holds the join of all writes and the views agree', () => {
  fc.assert(fc.property(scenario, run), { numRuns: 200 });
});

test('a fixed scenario with heavy loss, duplication and reordering converges (regression anchor)', () => {
  run({
    nodeCount: 4,
    seed: 7,
    dropRate: 0.5,
    duplicateRate: 0.3,
    reorder: true,
    tombstoneGraceMs: 4000,
    operations: [
      { atMs: 0, node: 0, key: 'a', value: 'x' },
      { atMs: 100, node: 1, key: 'a', value: 'y' },
      { atMs: 2000, node: 0, key: 'a', value: null },
      { atMs: 2500, node: 2, key: 'b', value: 'z' },
      { atMs: 9000, node: 3, key: 'c', value: '' },
      { atMs: 9000, node: 2, key: 'b', value: null },
      { atMs: 15_000, node: 0, key: 'b', value: 'x' },
    ],
  });
});
