/**
 * Proves the member table's invariants against a plain model: `order` lists every live slot once, sorted by
 * (memberKey(name), name); find, positionOf and lowerBound agree with that order; addMany rejects names it
 * already holds and repeats within a batch (-1, the first occurrence wins) without leaking strings; and
 * members whose names collide on the 32-bit key are ordered by name and found, never confused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { memberHashes } from '../../src/core/hash.js';
import { AssertionError, memberKey, StringPool } from '../../src/core/index.js';
import { type MemberIdentity, MemberTable, type NewMember } from '../../src/core/member-table.js';
import { findKeyCollision } from '../support/cores.js';

function member(name: string, generation = 1): NewMember {
  return { name, generation, address: `${name}:7946`, heartbeat: 0, status: 0 };
}

function byKeyThenName(a: string, b: string): number {
  const keyA = memberKey(a);
  const keyB = memberKey(b);
  if (keyA !== keyB) return keyA < keyB ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function orderedNames(table: MemberTable): string[] {
  return Array.from({ length: table.count }, (_, position) => table.name(table.order[position]!));
}

/** Checks every documented invariant of the table against the set of names it should hold. */
function checkTable(table: MemberTable, names: Iterable<string>): void {
  const expected = [...names].sort(byKeyThenName);
  assert.deepEqual(orderedNames(table), expected);
  const slots = new Set<number>();
  for (let position = 0; position < table.count; position++) {
    const slot = table.order[position]!;
    assert.ok(!slots.has(slot), `slot ${slot} listed twice`);
    slots.add(slot);
    assert.ok(table.isUsed(slot));
    assert.equal(table.positionOf(slot), position);
    const name = table.name(slot);
    assert.equal(table.find(name), slot);
    assert.equal(table.keys[slot], memberKey(name));
    const hashes = memberHashes(name, table.generations[slot]!);
    assert.equal(table.hashA[slot], hashes.hashA);
    assert.equal(table.hashB[slot], hashes.hashB);
  }
}

test('add keeps the order sorted by (key, name); find and positionOf agree with it', () => {
  const table = new MemberTable();
  const names = Array.from({ length: 60 }, (_, index) => `node-${index}`);
  for (const name of names) table.add(member(name), 0);
  checkTable(table, names);
  const slot = table.find('node-7');
  assert.equal(table.address(slot), 'node-7:7946');
  assert.equal(table.generations[slot], 1);
});

test('find of an unknown name is -1, also for a string the pool holds as an address', () => {
  const table = new MemberTable();
  table.add({ ...member('a'), address: 'b' }, 0);
  assert.equal(table.find('nobody'), -1);
  assert.equal(table.find(''), -1);
  assert.equal(table.find('b'), -1, '"b" is interned, but only as an address');
  assert.equal(table.find('a:7946'), -1);
});

test('find never answers from a stale entry: a removed name whose string lives on is not found', () => {
  const pool = new StringPool();
  const table = new MemberTable(pool, 4);
  // Someone else holds the name, so its string id outlives the member (as an address string might).
  const held = pool.acquire('x');
  const slot = table.add(member('x'), 0);
  assert.equal(table.find('x'), slot, 'found');
  table.remove(slot);
  assert.equal(table.find('x'), -1, 'removed');
  const reused = table.add(member('y'), 0);
  assert.equal(reused, slot, 'the slot is reused by another name');
  assert.equal(table.find('x'), -1, 'still not found through the reused slot');
  assert.equal(table.find('y'), reused);
  const again = table.add(member('x'), 0);
  assert.equal(table.find('x'), again, 'found again once re-added');
  pool.release(held);
});

test('lowerBound is the first position whose key is at least the given key', () => {
  // Evenly spread keys (the usual case) at several sizes, and keys crowded into the lowest or the highest
  // 1/256 of the key space: probes above them all, below them all and between them are covered.
  const crowdedLow: string[] = [];
  const crowdedHigh: string[] = [];
  for (let index = 0; crowdedLow.length < 60 || crowdedHigh.length < 60; index++) {
    const key = memberKey(`crowd-${index}`);
    if (key < 2 ** 24 && crowdedLow.length < 60) crowdedLow.push(`crowd-${index}`);
    if (key >= 2 ** 32 - 2 ** 24 && crowdedHigh.length < 60) crowdedHigh.push(`crowd-${index}`);
  }
  const cases = [0, 1, 2, 16, 17, 40, 1000, 5000].map((size) =>
    Array.from({ length: size }, (_, index) => `host-${index}`),
  );
  for (const names of [...cases, crowdedLow, crowdedHigh]) {
    const table = new MemberTable();
    for (const name of names) table.add(member(name), 0);
    const keys = names.map(memberKey).sort((a, b) => a - b);
    const probes = [0, 1, 2 ** 23, 2 ** 24, 2 ** 31, 2 ** 32 - 1, ...keys, ...keys.map((key) => key + 1)];
    for (const key of [...probes, ...keys.map((key) => key - 1)]) {
      const expected = keys.filter((other) => other < key).length;
      assert.equal(table.lowerBound(key), expected, `lowerBound(${key}) among ${names.length}`);
    }
  }
});

test('remove takes a member out of the order, frees its strings, and its slot is reused', () => {
  const pool = new StringPool();
  const table = new MemberTable(pool);
  const names = ['a', 'b', 'c', 'd', 'e'];
  for (const name of names) table.add(member(name), 0);
  const removed = table.find('c');
  table.remove(removed);
  checkTable(table, ['a', 'b', 'd', 'e']);
  assert.equal(table.find('c'), -1);
  assert.equal(pool.idOf('c'), undefined);
  assert.equal(pool.idOf('c:7946'), undefined);
  assert.equal(table.add(member('f'), 0), removed, 'the freed slot is reused');
  checkTable(table, ['a', 'b', 'd', 'e', 'f']);
  assert.throws(() => table.remove(table.find('nobody')), AssertionError);
});

test('adding a name twice is an assertion', () => {
  const table = new MemberTable();
  table.add(member('a'), 0);
  assert.throws(() => table.add(member('a', 2), 0), AssertionError);
});

test('addMany adds a batch in key order, in either input order', () => {
  const names = Array.from({ length: 30 }, (_, index) => `batch-${index}`);
  for (const input of [
    names,
    names.slice().sort(byKeyThenName),
    names.slice().sort(byKeyThenName).reverse(),
  ]) {
    const table = new MemberTable();
    const statuses = input.map((_, index) => index % 4);
    const slots = table.addMany(
      input.map((name) => member(name, 3)),
      statuses,
      5,
    );
    assert.ok(slots.every((slot) => slot >= 0));
    checkTable(table, names);
    input.forEach((name, index) => {
      assert.equal(slots[index], table.find(name));
      assert.equal(table.statuses[slots[index]!], index % 4);
      assert.equal(table.generations[slots[index]!], 3);
    });
  }
});

test('addMany returns -1 for names already present and for repeats within the batch', () => {
  const pool = new StringPool();
  const table = new MemberTable(pool);
  table.add(member('old-1'), 0);
  table.add(member('old-2'), 0);
  const batch: MemberIdentity[] = [
    member('new-1'),
    member('old-1', 9),
    { ...member('new-2'), address: 'first' },
    member('new-3'),
    { ...member('new-2'), address: 'second' },
    member('new-1'),
  ];
  const slots = table.addMany(batch, [0, 0, 0, 0, 0, 0], 0);
  assert.deepEqual(
    slots.map((slot) => slot >= 0),
    [true, false, true, true, false, false],
  );
  checkTable(table, ['old-1', 'old-2', 'new-1', 'new-2', 'new-3']);
  assert.equal(table.generations[table.find('old-1')], 1, 'the existing record is untouched');
  assert.equal(table.address(table.find('new-2')), 'first', 'the first occurrence in a batch wins');
  // Rejected entries gave their strings back: removing everyone leaves the pool empty.
  for (const name of ['old-1', 'old-2', 'new-1', 'new-2', 'new-3']) table.remove(table.find(name));
  assert.equal(pool.size, 0);
});

test('the table grows past its initial capacity without losing records', () => {
  const table = new MemberTable(new StringPool(), 4);
  const names = Array.from({ length: 500 }, (_, index) => `grow-${index}`);
  for (const name of names.slice(0, 200)) table.add(member(name), 0);
  table.addMany(
    names.slice(200).map((name) => member(name)),
    new Uint8Array(300),
    0,
  );
  checkTable(table, names);
});

test('two names with the same 32-bit key are ordered by name and never confused', () => {
  const [first, second] = findKeyCollision();
  assert.equal(memberKey(first), memberKey(second));
  assert.ok(first < second);
  const others = Array.from({ length: 20 }, (_, index) => `other-${index}`);
  for (const names of [
    [second, ...others, first],
    [first, second, ...others],
  ]) {
    const table = new MemberTable();
    for (const name of names) table.add(member(name), 0);
    checkTable(table, names);
    const position = table.positionOf(table.find(first));
    assert.equal(table.positionOf(table.find(second)), position + 1);
    assert.equal(table.lowerBound(memberKey(first)), position, 'lowerBound lands on the first of the group');
    table.remove(table.find(first));
    assert.equal(table.find(first), -1);
    assert.equal(table.name(table.find(second)), second);
    checkTable(
      table,
      names.filter((name) => name !== first),
    );
  }
});

test('addMany orders colliding names by name and rejects a colliding name it already holds', () => {
  const [first, second] = findKeyCollision();
  const table = new MemberTable();
  table.add(member(second), 0);
  const slots = table.addMany([member('x'), member(second), member(first)], [0, 0, 0], 0);
  assert.deepEqual(
    slots.map((slot) => slot >= 0),
    [true, false, true],
  );
  checkTable(table, ['x', first, second]);
  const fresh = new MemberTable();
  fresh.addMany([member(second), member(first), member(second)], [0, 0, 0], 0);
  checkTable(fresh, [first, second]);
});

test('random sequences of add, addMany, restart and remove keep every invariant (property)', () => {
  const [first, second] = findKeyCollision();
  const name = fc.oneof(
    fc.constantFrom(first, second),
    fc.integer({ min: 0, max: 40 }).map((index) => `n${index}`),
  );
  const operation = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), name }),
    fc.record({ kind: fc.constant('remove' as const), name }),
    fc.record({ kind: fc.constant('restart' as const), name }),
    fc.record({ kind: fc.constant('addMany' as const), names: fc.array(name, { maxLength: 8 }) }),
    // A second table on the same pool, as in the simulator: its names take ids this table never holds.
    fc.record({ kind: fc.constant('other' as const), name }),
  );
  const universe = [first, second, ...Array.from({ length: 41 }, (_, index) => `n${index}`)];
  fc.assert(
    fc.property(fc.array(operation, { maxLength: 60 }), (operations) => {
      const pool = new StringPool();
      const table = new MemberTable(pool, 4);
      const other = new MemberTable(pool, 4);
      const model = new Set<string>();
      const generations = new Map<string, number>();
      for (const operation of operations) {
        if (operation.kind === 'other') {
          const slot = other.find(operation.name);
          if (slot >= 0) other.remove(slot);
          else other.add(member(operation.name), 0);
        } else if (operation.kind === 'restart') {
          if (!model.has(operation.name)) continue;
          const generation = (generations.get(operation.name) ?? 1) + 1;
          generations.set(operation.name, generation);
          table.replaceGeneration(table.find(operation.name), member(operation.name, generation), 0);
        } else if (operation.kind === 'add') {
          if (model.has(operation.name)) continue;
          table.add(member(operation.name), 0);
          model.add(operation.name);
        } else if (operation.kind === 'remove') {
          if (!model.has(operation.name)) continue;
          table.remove(table.find(operation.name));
          model.delete(operation.name);
          generations.delete(operation.name);
        } else {
          const slots = table.addMany(
            operation.names.map((name) => member(name)),
            new Uint8Array(operation.names.length),
            0,
          );
          operation.names.forEach((name, index) => {
            const fresh = !model.has(name) && operation.names.indexOf(name) === index;
            assert.equal(slots[index]! >= 0, fresh, `addMany verdict for ${name}`);
          });
          for (const name of operation.names) model.add(name);
        }
        checkTable(table, model);
        for (const name of universe) if (!model.has(name)) assert.equal(table.find(name), -1, name);
      }
      for (const name of model) table.remove(table.find(name));
      for (let position = other.count - 1; position >= 0; position--) other.remove(other.order[position]!);
      assert.equal(pool.size, 0, 'no string leaked');
    }),
    { numRuns: 200 },
  );
});

test('find keeps working past 65,535 slots (its index widens from two bytes to four)', () => {
  const table = new MemberTable(new StringPool());
  const names = Array.from({ length: 70_000 }, (_, index) => `wide-${index}`);
  table.addMany(
    names.slice(0, 60_000).map((name) => member(name)),
    new Uint8Array(60_000),
    0,
  );
  for (const name of names.slice(60_000)) table.add(member(name), 0);
  for (const index of [0, 1, 59_999, 60_000, 65_534, 65_535, 65_536, 69_999]) {
    const slot = table.find(names[index]!);
    assert.ok(slot >= 0, names[index]);
    assert.equal(table.name(slot), names[index]);
  }
  const last = table.find(names[69_999]!);
  assert.ok(last > 0xffff, `a slot past the two-byte range (${last})`);
  table.remove(last);
  assert.equal(table.find(names[69_999]!), -1);
  assert.equal(table.find('wide-none'), -1);
});
