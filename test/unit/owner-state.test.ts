/**
 * Proves the owner state's scuttlebutt rules: entries apply in ascending version order and older or equal
 * versions are ignored; deletes are tombstones; entriesAfter yields exactly the current entries above a
 * version (never superseded ones, also after compaction); tombstones are collected only after the grace
 * period, which raises gcVersion; and a reset rebuilt from a peer's entries and gcVersion reproduces it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OwnerState } from '../../src/core/owner-state.js';

function after(state: OwnerState, version: number): [string, string | null, number][] {
  return [...state.entriesAfter(version)].map((entry) => [entry.key, entry.value, entry.version]);
}

function contents(state: OwnerState): Map<string, [string | null, number]> {
  return new Map([...state.entries()].map((entry) => [entry.key, [entry.value, entry.version]]));
}

test('entries apply in ascending version order; maxVersion follows', () => {
  const state = new OwnerState();
  assert.equal(state.maxVersion, 0);
  assert.equal(state.apply('a', '1', 1, 0), true);
  assert.equal(state.apply('b', '2', 2, 0), true);
  assert.equal(state.apply('a', '3', 3, 0), true);
  assert.equal(state.maxVersion, 3);
  assert.equal(state.size, 2);
  assert.deepEqual(state.get('a'), { key: 'a', value: '3', version: 3, writtenAtMs: 0 });
});

test('older and equal versions are ignored and change nothing', () => {
  const state = new OwnerState();
  state.apply('a', 'new', 5, 10);
  for (const version of [5, 4, 1, 0]) {
    assert.equal(state.apply('a', 'old', version, 20), false, `version ${version}`);
    assert.equal(state.apply('z', 'old', version, 20), false, `version ${version} of another key`);
  }
  assert.equal(state.maxVersion, 5);
  assert.deepEqual(contents(state), new Map([['a', ['new', 5]]]));
});

test('a delete is a tombstone with its own version, and a later write revives the key', () => {
  const state = new OwnerState();
  state.apply('a', 'x', 1, 0);
  state.apply('a', null, 2, 0);
  assert.equal(state.get('a')?.value, null);
  assert.equal(state.tombstoneCount, 1);
  assert.equal(state.size, 1, 'a tombstone is still an entry');
  assert.equal(state.maxVersion, 2);
  state.apply('a', 'y', 3, 0);
  assert.equal(state.tombstoneCount, 0);
  assert.equal(state.get('a')?.value, 'y');
});

test('entriesAfter yields current entries above a version, ascending, skipping superseded ones', () => {
  const state = new OwnerState();
  state.apply('a', '1', 1, 0);
  state.apply('b', '2', 2, 0);
  state.apply('a', '3', 3, 0);
  state.apply('c', null, 4, 0);
  assert.deepEqual(after(state, 0), [
    ['b', '2', 2],
    ['a', '3', 3],
    ['c', null, 4],
  ]);
  assert.deepEqual(after(state, 1), after(state, 0), 'version 1 was superseded: nothing new is skipped');
  assert.deepEqual(after(state, 2), [
    ['a', '3', 3],
    ['c', null, 4],
  ]);
  assert.deepEqual(after(state, 4), []);
  assert.deepEqual(after(state, 100), []);
});

test('entriesAfter stays exact across compaction of many superseded entries', () => {
  const state = new OwnerState();
  let version = 0;
  const latest = new Map<string, number>();
  for (let round = 0; round < 50; round++) {
    for (const key of ['hot', 'warm', round % 5 === 0 ? `cold-${round}` : 'hot']) {
      version++;
      state.apply(key, `${key}@${version}`, version, 0);
      latest.set(key, version);
    }
  }
  const expected = [...latest].sort((a, b) => a[1] - b[1]).map(([key, at]) => [key, `${key}@${at}`, at]);
  assert.deepEqual(after(state, 0), expected);
  for (const from of [10, 75, 149]) {
    assert.deepEqual(
      after(state, from),
      expected.filter(([, , at]) => (at as number) > from),
      `after ${from}`,
    );
  }
});

test('tombstones are collected only once the grace period has passed, raising gcVersion', () => {
  const state = new OwnerState();
  state.apply('keep', 'v', 1, 0);
  state.apply('gone', 'v', 2, 0);
  state.apply('gone', null, 3, 1000);
  state.apply('late', null, 4, 5000);
  assert.equal(state.collectTombstones(1999, 1000), 0, 'one millisecond early');
  assert.equal(state.gcVersion, 0);
  assert.equal(state.collectTombstones(2000, 1000), 1, 'exactly at the end of the grace period');
  assert.equal(state.gcVersion, 3);
  assert.equal(state.get('gone'), undefined);
  assert.equal(state.maxVersion, 4, 'collection never lowers maxVersion');
  assert.deepEqual(after(state, 0), [
    ['keep', 'v', 1],
    ['late', null, 4],
  ]);
  assert.equal(state.collectTombstones(6000, 1000), 1);
  assert.equal(state.gcVersion, 4);
  assert.equal(state.tombstoneCount, 0);
  assert.equal(state.size, 1);
});

test('a live value is never collected, whatever its age', () => {
  const state = new OwnerState();
  state.apply('a', 'v', 1, 0);
  assert.equal(state.collectTombstones(10 ** 12, 0), 0);
  assert.equal(state.gcVersion, 0);
  assert.equal(state.size, 1);
});

test('reset forgets everything and records the collection point', () => {
  const state = new OwnerState();
  state.apply('a', 'v', 1, 0);
  state.apply('b', null, 2, 0);
  state.reset(7);
  assert.equal(state.size, 0);
  assert.equal(state.tombstoneCount, 0);
  assert.equal(state.maxVersion, 0);
  assert.equal(state.gcVersion, 7);
  assert.deepEqual(after(state, 0), []);
});

test('completeReset raises maxVersion and gcVersion to the collection point, never lowers them', () => {
  const state = new OwnerState();
  state.reset(5);
  state.completeReset(5);
  assert.equal(state.maxVersion, 5, 'everything up to the collection point is known');
  state.apply('a', 'v', 8, 0);
  state.completeReset(6);
  assert.equal(state.maxVersion, 8);
  assert.equal(state.gcVersion, 6);
  state.completeReset(2);
  assert.equal(state.gcVersion, 6);
});

test('a reset rebuilt from the source entries and gcVersion reproduces the source', () => {
  const source = new OwnerState();
  source.apply('a', '1', 1, 0);
  source.apply('b', '2', 2, 0);
  source.apply('a', null, 3, 0);
  source.apply('c', '4', 4, 0);
  source.apply('c', null, 5, 0);
  source.collectTombstones(100, 10);
  assert.equal(source.gcVersion, 5);
  assert.equal(source.maxVersion, 5);

  // A receiver that saw only version 1: it is behind the collection point and must be reset.
  const receiver = new OwnerState();
  receiver.apply('a', '1', 1, 0);
  receiver.reset(source.gcVersion);
  for (const entry of source.entriesAfter(0)) receiver.apply(entry.key, entry.value, entry.version, 200);
  receiver.completeReset(source.gcVersion);
  assert.deepEqual(contents(receiver), contents(source));
  assert.equal(
    receiver.maxVersion,
    source.maxVersion,
    'the newest write was collected, yet maxVersion matches',
  );
  assert.equal(receiver.gcVersion, source.gcVersion);
});
