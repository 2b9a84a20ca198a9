/**
 * Proves how the core chooses and packs what a peer lacks: planDelta's cases (an unknown peer, an older
 * generation or a version behind the collection point need a reset; a version behind needs the entries after
 * it; an up-to-date or newer peer needs nothing) with exact sizes, and packDeltas' rules: within budget,
 * smallest first, a non-reset delta cut to a consistent prefix, a reset never cut.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildDelta, type DeltaSource, packDeltas, planDelta } from '../../src/core/deltas.js';
import { OwnerState } from '../../src/core/owner-state.js';
import { encode, type MemberEntry, type OwnerDelta } from '../../src/wire/index.js';

interface Owner {
  readonly name: string;
  readonly generation: number;
  readonly state: OwnerState | undefined;
}

function sourceOf(owners: readonly Owner[]): DeltaSource {
  return {
    memberEntry: (slot): MemberEntry => {
      const owner = owners[slot]!;
      return {
        name: owner.name,
        generation: owner.generation,
        address: `${owner.name}:1`,
        heartbeat: 3,
        status: 'alive',
        maxVersion: owner.state?.maxVersion ?? 0,
        verdict: null,
      };
    },
    generationOf: (slot) => owners[slot]!.generation,
    stateOf: (slot) => owners[slot]!.state,
  };
}

/** An owner state with `count` keys of `valueBytes` each, versions 1..count. */
function stateWith(count: number, valueBytes = 10): OwnerState {
  const state = new OwnerState();
  for (let version = 1; version <= count; version++) {
    state.apply(`key-${version}`, 'v'.repeat(valueBytes), version, 0);
  }
  return state;
}

/** Bytes one delta takes on the wire, measured by encoding an ack with and without it. */
function wireBytes(delta: OwnerDelta): number {
  return encode({ type: 'ack', deltas: [delta] }).length - encode({ type: 'ack', deltas: [] }).length;
}

function versions(delta: OwnerDelta): number[] {
  return delta.entries.map((entry) => entry.version);
}

test('planDelta: who needs a reset, who needs entries, who needs nothing', () => {
  const state = stateWith(5);
  state.apply('key-1', null, 6, 0);
  state.apply('key-2', null, 7, 100);
  state.collectTombstones(50, 10);
  assert.equal(state.gcVersion, 6);
  assert.equal(state.maxVersion, 7);
  const source = sourceOf([{ name: 'owner', generation: 4, state }]);
  const table: [peerGeneration: number, peerVersion: number, expected: null | [boolean, number]][] = [
    [-1, 0, [true, 0]], // unknown member: reset
    [3, 7, [true, 0]], // older generation, whatever its version: reset
    [4, 5, [true, 0]], // behind the collection point: reset
    [4, 6, [false, 6]], // at the collection point, behind: the entries after its version
    [4, 0, [true, 0]],
    [4, 7, null], // up to date
    [4, 9, null], // ahead of us (we are the stale one)
    [5, 0, null], // a newer generation than ours
  ];
  for (const [peerGeneration, peerVersion, expected] of table) {
    const candidate = planDelta(source, 0, peerGeneration, peerVersion);
    const label = `peer at generation ${peerGeneration}, version ${peerVersion}`;
    if (expected === null) {
      assert.equal(candidate, null, label);
      continue;
    }
    assert.ok(candidate !== null, label);
    assert.deepEqual([candidate.reset, candidate.fromVersion], expected, label);
  }
});

test('a delta holds exactly the current entries after fromVersion, and its planned size is exact', () => {
  const state = stateWith(6);
  state.apply('key-2', 'changed', 7, 0);
  state.apply('key-3', null, 8, 0);
  const source = sourceOf([{ name: 'owner', generation: 1, state }]);
  const cases: [number, number, number[]][] = [
    [-1, 0, [1, 4, 5, 6, 7, 8]],
    [1, 0, [1, 4, 5, 6, 7, 8]],
    [1, 4, [5, 6, 7, 8]],
    [1, 7, [8]],
  ];
  for (const [peerGeneration, peerVersion, expected] of cases) {
    const candidate = planDelta(source, 0, peerGeneration, peerVersion);
    assert.ok(candidate !== null);
    const delta = buildDelta(source, candidate, Number.POSITIVE_INFINITY);
    assert.deepEqual(versions(delta), expected, `from ${peerVersion}`);
    assert.equal(delta.reset, candidate.reset);
    assert.equal(delta.fromVersion, candidate.fromVersion);
    assert.equal(candidate.bytes, wireBytes(delta), `planned size from ${peerVersion}`);
  }
  const tombstone = buildDelta(source, planDelta(source, 0, 1, 7)!, Number.POSITIVE_INFINITY);
  assert.deepEqual(tombstone.entries, [{ key: 'key-3', value: null, version: 8 }]);
});

test('a member without state is introduced by an empty reset and otherwise needs nothing', () => {
  const source = sourceOf([{ name: 'quiet', generation: 2, state: undefined }]);
  const candidate = planDelta(source, 0, -1, 0);
  assert.ok(candidate !== null);
  assert.ok(candidate.reset);
  const delta = buildDelta(source, candidate, Number.POSITIVE_INFINITY);
  assert.deepEqual(delta.entries, []);
  assert.equal(delta.member.name, 'quiet');
  assert.equal(candidate.bytes, wireBytes(delta));
  assert.equal(planDelta(source, 0, 2, 0), null);
});

test('packDeltas takes the smallest candidates first and stays within its budget', () => {
  const owners: Owner[] = [5, 1, 3, 8, 2].map((count, index) => ({
    name: `owner-${index}`,
    generation: 1,
    state: stateWith(count, 40),
  }));
  const source = sourceOf(owners);
  const candidates = owners.map((_, slot) => planDelta(source, slot, 1, 0)!);
  const sizes = candidates.map((candidate) => candidate.bytes);
  const ascending = [...candidates].sort((a, b) => a.bytes - b.bytes);
  // Room for exactly the three smallest whole deltas and not one more entry.
  const budget = ascending[0]!.bytes + ascending[1]!.bytes + ascending[2]!.bytes;
  const packed = packDeltas(source, [...candidates], budget);
  assert.deepEqual(
    packed.deltas.map((delta) => delta.member.name),
    ascending.slice(0, 3).map((candidate) => owners[candidate.slot]!.name),
    `sizes ${sizes}`,
  );
  assert.ok(packed.deltas.every((delta, index) => delta.entries.length === [1, 2, 3][index]));
  assert.equal(packed.bytes, budget);
  assert.deepEqual(
    packed.leftovers.map((candidate) => candidate.slot).sort(),
    ascending
      .slice(3)
      .map((candidate) => candidate.slot)
      .sort(),
  );
});

test('packDeltas reports the bytes it used exactly, whatever the budget', () => {
  const owners: Owner[] = [4, 7, 2, 9].map((count, index) => ({
    name: `owner-${index}`,
    generation: 1,
    state: stateWith(count, 25),
  }));
  const source = sourceOf(owners);
  for (let budget = 0; budget <= 1200; budget += 7) {
    const candidates = owners.map((_, slot) => planDelta(source, slot, 1, slot % 2)!);
    const packed = packDeltas(source, candidates, budget);
    const used = packed.deltas.reduce((sum, delta) => sum + wireBytes(delta), 0);
    assert.equal(packed.bytes, used, `budget ${budget}`);
    assert.ok(used <= budget, `budget ${budget}: used ${used}`);
  }
});

test('a non-reset delta that does not fit is cut to a consistent prefix', () => {
  const state = stateWith(10, 50);
  const source = sourceOf([{ name: 'big', generation: 1, state }]);
  const candidate = planDelta(source, 0, 1, 3)!;
  assert.equal(candidate.reset, false);
  const whole = buildDelta(source, candidate, Number.POSITIVE_INFINITY);
  for (const budget of [candidate.bytes - 1, Math.floor(candidate.bytes / 2), 200]) {
    const packed = packDeltas(source, [candidate], budget);
    assert.equal(packed.deltas.length, 1, `budget ${budget}`);
    const partial = packed.deltas[0]!;
    assert.ok(partial.entries.length > 0 && partial.entries.length < whole.entries.length);
    assert.deepEqual(partial.entries, whole.entries.slice(0, partial.entries.length), 'a prefix');
    assert.equal(partial.entries[0]!.version, 4, 'it starts right after the version the peer holds');
    assert.equal(partial.fromVersion, 3);
    assert.ok(wireBytes(partial) <= budget);
    assert.deepEqual(packed.leftovers, [candidate], 'the rest is left over for a stream');
  }
  const nothing = packDeltas(source, [candidate], 40);
  assert.deepEqual(nothing.deltas, [], 'no room for even one entry: nothing, not an empty delta');
  assert.equal(nothing.bytes, 0);
});

test('a reset is never cut: it goes whole or is left over', () => {
  const state = stateWith(10, 50);
  const source = sourceOf([{ name: 'big', generation: 2, state }]);
  const candidate = planDelta(source, 0, 1, 10)!;
  assert.equal(candidate.reset, true);
  for (const budget of [candidate.bytes - 1, 300, 60]) {
    const packed = packDeltas(source, [candidate], budget);
    assert.deepEqual(packed.deltas, [], `budget ${budget}`);
    assert.deepEqual(packed.leftovers, [candidate]);
    assert.equal(packed.bytes, 0);
  }
  const fits = packDeltas(source, [candidate], candidate.bytes);
  assert.equal(fits.deltas.length, 1);
  assert.equal(fits.deltas[0]!.entries.length, 10);
  assert.equal(fits.deltas[0]!.reset, true);
});

test('a reset that does not fit is skipped whole, and a larger delta behind it still sends a prefix', () => {
  const source = sourceOf([
    { name: 'restarted', generation: 3, state: stateWith(4, 30) },
    { name: 'busy', generation: 1, state: stateWith(12, 30) },
  ]);
  const reset = planDelta(source, 0, 2, 0)!;
  const behind = planDelta(source, 1, 1, 0)!;
  assert.ok(reset.reset && !behind.reset && reset.bytes < behind.bytes);
  const packed = packDeltas(source, [behind, reset], reset.bytes - 1);
  assert.deepEqual(
    packed.deltas.map((delta) => [delta.member.name, delta.reset]),
    [['busy', false]],
  );
  assert.ok(packed.deltas[0]!.entries.length > 0);
  assert.deepEqual(packed.leftovers, [reset, behind]);
});
