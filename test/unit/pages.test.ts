/**
 * Proves the digest page rules for positional and explicit pages, over many tables, ranges and budgets: a
 * page never encodes to more than its budget, lists exactly the members of a prefix [rangeStart, rangeEnd)
 * of the requested range in key order (a positional page the live ones, alive or suspect; an explicit page
 * the dead ones too, so a node that missed a verdict learns it), ends on a key boundary (members sharing a
 * 32-bit key are never split, even a real collision), is the longest such prefix, and carries the XOR of its
 * members' identity hashes, which is what rangeHash computes over the covered range.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { identityHashA, identityHashB, memberKey, SeededRandom } from '../../src/core/index.js';
import { MemberTable, STATUS_ALIVE, STATUS_DOWN, STATUS_SUSPECT } from '../../src/core/member-table.js';
import {
  buildExplicitPage,
  buildPositionalPage,
  KEY_SPACE_END,
  randomPageStart,
  rangeHash,
  singleDifferenceKey,
} from '../../src/core/pages.js';
import {
  encode,
  explicitPageHeaderLength,
  MEMBER_STATUSES,
  type MemberEntry,
  memberEntryLength,
  type Page,
  positionalEntries,
  positionalEntryLength,
  positionalPageHeaderLength,
} from '../../src/wire/index.js';
import { findKeyCollision } from '../support/cores.js';

const SENDER: MemberEntry = {
  name: 's',
  generation: 1,
  address: 's:1',
  heartbeat: 0,
  status: 'alive',
  maxVersion: 0,
  verdict: null,
};

/** Bytes the page takes on the wire, measured by encoding a digest with and without it. */
function encodedPageBytes(page: Page): number {
  const withPage = encode({ type: 'syn', digest: { sender: SENDER, news: [], page } }).length;
  const withoutPage = encode({ type: 'syn', digest: { sender: SENDER, news: [], page: null } }).length;
  return withPage - withoutPage + 1;
}

/** A table of `names` with heartbeats, versions and statuses of every varint size, drawn from `seed`. */
function makeTable(names: readonly string[], seed: number): MemberTable {
  const random = new SeededRandom(seed);
  const table = new MemberTable();
  for (const name of names) {
    const slot = table.add(
      { name, generation: 1 + random.int(1000), address: `${name}:1`, heartbeat: 0, status: 0 },
      0,
    );
    table.heartbeats[slot] = random.int(2 ** (1 + random.int(31)));
    table.maxVersions[slot] = random.int(2 ** (1 + random.int(34)));
    table.statuses[slot] = random.int(4);
  }
  return table;
}

function entryOf(table: MemberTable, slot: number): MemberEntry {
  return {
    name: table.name(slot),
    generation: table.generations[slot]!,
    address: table.address(slot),
    heartbeat: table.heartbeats[slot]!,
    status: MEMBER_STATUSES[table.statuses[slot]!]!,
    maxVersion: table.maxVersions[slot]!,
    verdict: null,
  };
}

/**
 * Slots with key in [start, end), in (key, name) order: found by a full scan, not by lowerBound. Positional
 * pages list live (alive or suspect) members only; explicit pages list dead ones too (`liveOnly` false).
 */
function slotsIn(table: MemberTable, start: number, end: number, liveOnly = true): number[] {
  const slots: number[] = [];
  for (let position = 0; position < table.count; position++) {
    const slot = table.order[position]!;
    const listed = !liveOnly || table.statuses[slot]! <= STATUS_SUSPECT;
    if (listed && table.keys[slot]! >= start && table.keys[slot]! < end) slots.push(slot);
  }
  return slots;
}

function identityXor(table: MemberTable, slots: readonly number[]): { hashA: number; hashB: number } {
  let hashA = 0;
  let hashB = 0;
  for (const slot of slots) {
    hashA ^= identityHashA(table.name(slot), table.generations[slot]!);
    hashB ^= identityHashB(table.name(slot), table.generations[slot]!);
  }
  return { hashA: hashA >>> 0, hashB: hashB >>> 0 };
}

/** The first key of the range that the page left out (the next key group), if any. */
function nextGroup(table: MemberTable, from: number, end: number, liveOnly = true): number[] {
  const rest = slotsIn(table, from, end, liveOnly);
  if (rest.length === 0) return [];
  const key = table.keys[rest[0]!]!;
  return rest.filter((slot) => table.keys[slot] === key);
}

interface PageCase {
  readonly table: MemberTable;
  readonly start: number;
  readonly end: number;
  readonly budget: number;
}

function checkPositional({ table, start, end, budget }: PageCase): void {
  const label = `[${start}, ${end}) in ${budget} bytes of ${table.count}`;
  const page = buildPositionalPage(table, start, end, budget);
  // The builder reserves the largest header it could need (its end and count are unknown up front).
  const headerMax = positionalPageHeaderLength(start, KEY_SPACE_END, table.count);
  const entryBytes = (slot: number) =>
    positionalEntryLength(table.heartbeats[slot]!, table.maxVersions[slot]!, table.statuses[slot]!);
  if (page === null) {
    const first = nextGroup(table, start, end);
    const smallest =
      first.length === 0 || table.keys[first[0]!]! > start
        ? headerMax
        : headerMax + first.reduce((sum, slot) => sum + entryBytes(slot), 0);
    assert.ok(smallest > budget, `null although a prefix of ${smallest} bytes fits: ${label}`);
    return;
  }
  assert.equal(page.kind, 'positional');
  assert.equal(page.rangeStart, start, label);
  assert.ok(page.rangeEnd > start && page.rangeEnd <= end, `covered end ${page.rangeEnd}: ${label}`);
  assert.ok(encodedPageBytes(page) <= budget, `${encodedPageBytes(page)} bytes: ${label}`);
  const covered = slotsIn(table, start, page.rangeEnd);
  const columns = positionalEntries(page);
  assert.equal(page.count, covered.length, label);
  assert.deepEqual(
    columns.heartbeats,
    covered.map((slot) => table.heartbeats[slot]),
    label,
  );
  assert.deepEqual(
    columns.maxVersions,
    covered.map((slot) => table.maxVersions[slot]),
    label,
  );
  assert.deepEqual(
    columns.statuses,
    covered.map((slot) => table.statuses[slot]),
    label,
  );
  const expectedHash = identityXor(table, covered);
  assert.deepEqual({ hashA: page.hashA, hashB: page.hashB }, expectedHash, `hash: ${label}`);
  assert.deepEqual(rangeHash(table, start, page.rangeEnd), { ...expectedHash, count: covered.length });
  if (page.rangeEnd < end) {
    const next = nextGroup(table, page.rangeEnd, end);
    assert.ok(next.length > 0, `the page stopped short of the range with nothing left out: ${label}`);
    assert.equal(table.keys[next[0]!], page.rangeEnd, `the cut is not on a key: ${label}`);
    const used = headerMax + covered.reduce((sum, slot) => sum + entryBytes(slot), 0);
    const withNext = used + next.reduce((sum, slot) => sum + entryBytes(slot), 0);
    assert.ok(withNext > budget, `the next key group would have fitted: ${label}`);
  }
}

function checkExplicit({ table, start, end, budget }: PageCase): void {
  const label = `explicit [${start}, ${end}) in ${budget} bytes of ${table.count}`;
  const page = buildExplicitPage(table, start, end, budget, (slot) => entryOf(table, slot));
  const headerMax = explicitPageHeaderLength(start, KEY_SPACE_END, table.count);
  const entryBytes = (slot: number) => memberEntryLength(entryOf(table, slot));
  if (page === null) {
    const first = nextGroup(table, start, end, false);
    const smallest =
      first.length === 0 || table.keys[first[0]!]! > start
        ? headerMax
        : headerMax + first.reduce((sum, slot) => sum + entryBytes(slot), 0);
    assert.ok(smallest > budget, `null although a prefix of ${smallest} bytes fits: ${label}`);
    return;
  }
  assert.equal(page.kind, 'explicit');
  assert.equal(page.rangeStart, start, label);
  assert.ok(page.rangeEnd > start && page.rangeEnd <= end, `covered end ${page.rangeEnd}: ${label}`);
  assert.ok(encodedPageBytes(page) <= budget, `${encodedPageBytes(page)} bytes: ${label}`);
  const covered = slotsIn(table, start, page.rangeEnd, false);
  assert.deepEqual(
    page.entries,
    covered.map((slot) => entryOf(table, slot)),
    label,
  );
  if (page.rangeEnd < end) {
    const next = nextGroup(table, page.rangeEnd, end, false);
    assert.ok(next.length > 0, `the page stopped short of the range with nothing left out: ${label}`);
    assert.equal(table.keys[next[0]!], page.rangeEnd, `the cut is not on a key: ${label}`);
    const used = headerMax + covered.reduce((sum, slot) => sum + entryBytes(slot), 0);
    const withNext = used + next.reduce((sum, slot) => sum + entryBytes(slot), 0);
    assert.ok(withNext > budget, `the next key group would have fitted: ${label}`);
  }
}

function names(count: number, prefix = 'node-'): string[] {
  return Array.from({ length: count }, (_, index) => `${prefix}${index}`);
}

/** Ranges worth trying on a table: the whole space, ranges from and to member keys, and random ones. */
function ranges(table: MemberTable, random: SeededRandom): [number, number][] {
  const keys = slotsIn(table, 0, KEY_SPACE_END).map((slot) => table.keys[slot]!);
  const result: [number, number][] = [[0, KEY_SPACE_END]];
  for (let i = 0; i < 6; i++) {
    const a = keys.length > 0 && i % 2 === 0 ? keys[random.int(keys.length)]! : random.int(KEY_SPACE_END);
    const b = keys.length > 0 && i % 3 === 0 ? keys[random.int(keys.length)]! + 1 : random.int(KEY_SPACE_END);
    if (a !== b) result.push([Math.min(a, b), Math.max(a, b)]);
    result.push([a, KEY_SPACE_END]);
  }
  return result;
}

test('positional and explicit pages obey every page rule over many tables, ranges and budgets', () => {
  const random = new SeededRandom(99);
  const [first, second] = findKeyCollision();
  const tables = [
    makeTable([], 1),
    makeTable(['solo'], 2),
    makeTable(names(7), 3),
    makeTable([...names(60), first, second], 4),
    makeTable(names(400, 'member-'), 5),
  ];
  let checked = 0;
  for (const table of tables) {
    for (const [start, end] of ranges(table, random)) {
      for (const budget of [0, 5, 12, 17, 20, 40, 100, 333, 700, 1377, 4000]) {
        checkPositional({ table, start, end, budget });
        checkExplicit({ table, start, end, budget });
        checked++;
      }
    }
  }
  assert.ok(checked > 200);
});

test('a page of the whole key space covers every member it lists when they fit', () => {
  const table = makeTable(names(30), 6);
  const live = slotsIn(table, 0, KEY_SPACE_END).length;
  assert.ok(live > 5 && live < 30, 'the table mixes live and dead members');
  const page = buildPositionalPage(table, 0, KEY_SPACE_END, 1400);
  assert.ok(page !== null);
  assert.equal(page.rangeEnd, KEY_SPACE_END);
  assert.equal(page.count, live);
  const explicit = buildExplicitPage(table, 0, KEY_SPACE_END, 4000, (slot) => entryOf(table, slot));
  assert.equal(explicit?.entries.length, 30, 'an explicit page lists the dead members too');
  assert.equal(explicit?.rangeEnd, KEY_SPACE_END);
});

test('down and left members change neither a positional page nor the range hash', () => {
  const living = makeTable(names(20), 10);
  for (let slot = 0; slot < 20; slot++) living.statuses[slot] = slot % 2;
  const withDead = makeTable(names(20), 10);
  for (let slot = 0; slot < 20; slot++) withDead.statuses[slot] = slot % 2;
  for (const [index, status] of [
    [1, STATUS_DOWN],
    [2, STATUS_DOWN + 1],
  ]) {
    const slot = withDead.add(
      { name: `dead-${index}`, generation: 1, address: 'x:1', heartbeat: 5, status: status! },
      0,
    );
    withDead.maxVersions[slot] = 9;
  }
  assert.deepEqual(rangeHash(withDead, 0, KEY_SPACE_END), rangeHash(living, 0, KEY_SPACE_END));
  assert.deepEqual(
    buildPositionalPage(withDead, 0, KEY_SPACE_END, 1400),
    buildPositionalPage(living, 0, KEY_SPACE_END, 1400),
  );
});

test('successive pages rotate through the whole key space, each member exactly once', () => {
  const table = makeTable(names(300), 7);
  const seen: number[] = [];
  let cursor = 0;
  for (let pages = 0; cursor < KEY_SPACE_END; pages++) {
    assert.ok(pages < 100, 'the rotation does not progress');
    const page = buildPositionalPage(table, cursor, KEY_SPACE_END, 200);
    assert.ok(page !== null && page.rangeStart === cursor);
    seen.push(...slotsIn(table, page.rangeStart, page.rangeEnd));
    cursor = page.rangeEnd;
  }
  assert.deepEqual(seen, slotsIn(table, 0, KEY_SPACE_END));
});

test('for every budget, members sharing a 32-bit key are covered together or not at all', () => {
  const [first, second] = findKeyCollision();
  const table = makeTable([...names(25), first, second], 8);
  table.statuses[table.find(first)] = 0;
  table.statuses[table.find(second)] = STATUS_SUSPECT;
  const key = memberKey(first);
  for (let budget = 0; budget <= 600; budget++) {
    for (const page of [
      buildPositionalPage(table, 0, KEY_SPACE_END, budget),
      buildExplicitPage(table, 0, KEY_SPACE_END, budget, (slot) => entryOf(table, slot)),
    ]) {
      if (page === null) continue;
      const count = page.kind === 'positional' ? page.count : page.entries.length;
      const covered = slotsIn(table, 0, KEY_SPACE_END, page.kind === 'positional').slice(0, count);
      const pair = covered.filter((slot) => table.keys[slot] === key).length;
      assert.ok(pair === 0 || pair === 2, `budget ${budget}: ${pair} of the colliding pair covered`);
      if (page.rangeEnd <= key) assert.equal(pair, 0);
      else assert.equal(pair, 2);
    }
  }
});

test('rangeHash is the XOR of identity hashes over the range, and its count', () => {
  const table = makeTable(names(50), 9);
  const keys = Array.from(table.order.subarray(0, table.count), (slot) => table.keys[slot]!);
  const cases: [number, number][] = [
    [0, KEY_SPACE_END],
    [0, 0],
    [keys[10]!, keys[20]!],
    [keys[10]!, keys[10]! + 1],
  ];
  for (const [start, end] of cases) {
    const slots = slotsIn(table, start, end);
    assert.deepEqual(rangeHash(table, start, end), { ...identityXor(table, slots), count: slots.length });
  }
  const whole = rangeHash(table, 0, KEY_SPACE_END);
  const left = rangeHash(table, 0, keys[25]!);
  const right = rangeHash(table, keys[25]!, KEY_SPACE_END);
  assert.equal((left.hashA ^ right.hashA) >>> 0, whole.hashA, 'hashes of adjacent ranges combine by XOR');
});

test('randomPageStart picks the key of a live member in the range, or falls back to the range start', () => {
  const table = makeTable(names(40), 11);
  const random = new SeededRandom(5);
  const pick = (bound: number) => random.int(bound);
  const liveKeys = new Set(slotsIn(table, 0, KEY_SPACE_END).map((slot) => table.keys[slot]!));
  const chosen = new Set<number>();
  let fallbacks = 0;
  for (let i = 0; i < 400; i++) {
    // The start is always a safe place to begin a page; it is the fallback after a few dead picks.
    const key = randomPageStart(table, 1, KEY_SPACE_END, 1, pick);
    if (key === 1) fallbacks++;
    else assert.ok(liveKeys.has(key), `key ${key} is not a live member's`);
    chosen.add(key);
  }
  assert.ok(fallbacks < 40, `${fallbacks} fallbacks in 400 picks`);
  assert.ok(chosen.size > liveKeys.size / 2, 'the choice spreads over the range');
  for (let slot = 0; slot < 40; slot++) table.statuses[slot] = STATUS_DOWN;
  assert.equal(randomPageStart(table, 123, KEY_SPACE_END, 1, pick), 123);
  assert.equal(randomPageStart(new MemberTable(), 7, 9, 1, pick), 7);
});

test('randomPageStart covers the first members of a range about as often as the others', () => {
  const table = makeTable(names(40), 11);
  for (let slot = 0; slot < 40; slot++) table.statuses[slot] = STATUS_ALIVE;
  const random = new SeededRandom(9);
  const pick = (bound: number) => random.int(bound);
  const window = 10;
  const covered = new Array<number>(table.count).fill(0);
  const trials = 4000;
  for (let i = 0; i < trials; i++) {
    const first = table.lowerBound(randomPageStart(table, 0, KEY_SPACE_END, window, pick));
    for (let position = first; position < Math.min(table.count, first + window); position++) {
      covered[position]!++;
    }
  }
  // A member in the middle is on window / (count + window / 2) of the pages; none gets less than half that
  // (a start drawn among the members alone would put the first member on 1 / count of them).
  const expected = (trials * window) / (table.count + window / 2);
  for (const [position, count] of covered.entries()) {
    assert.ok(
      count > expected * 0.45 && count < expected * 1.6,
      `member ${position} covered ${count} times, expected about ${Math.round(expected)}`,
    );
  }
});

test('singleDifferenceKey names the one member that explains a page mismatch, and nothing otherwise', () => {
  const table = makeTable(names(60), 5);
  for (let slot = 0; slot < 60; slot++) table.statuses[slot] = STATUS_ALIVE;
  const all = rangeHash(table, 0, KEY_SPACE_END);
  for (const slot of [0, 17, 59]) {
    // The peer's page lacks this member (it has it down, or never heard of it): ours has one more.
    table.statuses[slot] = STATUS_DOWN;
    const peer = rangeHash(table, 0, KEY_SPACE_END);
    table.statuses[slot] = STATUS_ALIVE;
    assert.equal(singleDifferenceKey(table, 0, KEY_SPACE_END, peer, all), table.keys[slot]);
    // The other way round: the peer lists it live, we have it down.
    table.statuses[slot] = STATUS_DOWN;
    const local = rangeHash(table, 0, KEY_SPACE_END);
    assert.equal(singleDifferenceKey(table, 0, KEY_SPACE_END, all, local), table.keys[slot]);
    table.statuses[slot] = STATUS_ALIVE;
  }
  // Two members differ: no single member explains it.
  table.statuses[3] = STATUS_DOWN;
  table.statuses[4] = STATUS_DOWN;
  const twoMissing = rangeHash(table, 0, KEY_SPACE_END);
  table.statuses[4] = STATUS_ALIVE;
  const oneMissing = rangeHash(table, 0, KEY_SPACE_END);
  table.statuses[3] = STATUS_ALIVE;
  assert.equal(singleDifferenceKey(table, 0, KEY_SPACE_END, twoMissing, all), -1);
  // The count differs by one but the hashes name nobody we know (the peer lists a stranger instead).
  const stranger = { ...oneMissing, hashA: (oneMissing.hashA ^ 0x5a5a5a5a) >>> 0 };
  assert.equal(singleDifferenceKey(table, 0, KEY_SPACE_END, stranger, all), -1);
  // Same count, different hashes: not a single-member difference.
  assert.equal(singleDifferenceKey(table, 0, KEY_SPACE_END, { ...all, hashB: all.hashB ^ 1 }, all), -1);
  // A member outside the range is not named even when it explains the hashes.
  const lastKey = table.keys[table.order[59]!]!;
  table.statuses[table.order[59]!] = STATUS_DOWN;
  const peerWithoutLast = rangeHash(table, 0, KEY_SPACE_END);
  table.statuses[table.order[59]!] = STATUS_ALIVE;
  assert.equal(singleDifferenceKey(table, 0, KEY_SPACE_END, peerWithoutLast, all), lastKey);
  assert.equal(singleDifferenceKey(table, 0, lastKey, peerWithoutLast, all), -1);
});

test('a positional page lists at most entriesMax members and ends on the next member key', () => {
  const table = makeTable(names(300), 11);
  const page = buildPositionalPage(table, 0, KEY_SPACE_END, 4000, 40);
  assert.ok(page !== null);
  assert.equal(page.count, 40);
  const covered = slotsIn(table, 0, page.rangeEnd);
  assert.equal(covered.length, 40);
  const next = nextGroup(table, page.rangeEnd, KEY_SPACE_END);
  assert.equal(table.keys[next[0]!], page.rangeEnd, 'the page ends where the first member left out begins');
});

test('a known range hash is taken only for the range it is of: the page is the same either way', () => {
  const random = new SeededRandom(7);
  const table = makeTable(names(300, 'member-'), 6);
  let taken = 0;
  for (const [start, end] of ranges(table, random)) {
    for (const budget of [40, 333, 1377]) {
      const plain = buildPositionalPage(table, start, end, budget, 64);
      if (plain === null) continue;
      const hash = rangeHash(table, start, plain.rangeEnd);
      const right = { rangeEnd: plain.rangeEnd, ...hash };
      assert.deepEqual(buildPositionalPage(table, start, end, budget, 64, right), plain);
      // A hash of another range (one key further, or a count one off) is not used: a wrong one would show.
      const wrong = { ...right, hashA: right.hashA ^ 1, hashB: right.hashB ^ 1 };
      for (const known of [
        { ...wrong, rangeEnd: plain.rangeEnd + 1 },
        { ...wrong, count: wrong.count + 1 },
      ]) {
        assert.deepEqual(buildPositionalPage(table, start, end, budget, 64, known), plain);
      }
      // The right range with a wrong hash is believed: the caller vouches for it (node.ts keys it by epoch).
      assert.equal(buildPositionalPage(table, start, end, budget, 64, wrong)?.hashA, wrong.hashA >>> 0);
      taken++;
    }
  }
  assert.ok(taken > 10);
});
