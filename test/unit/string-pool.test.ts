/**
 * Proves the string pool's reference counting: one id per live string, the id lives while references
 * remain, released ids are reused, each string's cached hash state is its FNV-1a, and misuse (releasing or
 * reading a dead id) is an assertion, not silent corruption.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AssertionError, fnv1aString, StringPool } from '../../src/core/index.js';

test('acquiring the same string twice gives one id and two references', () => {
  const pool = new StringPool();
  const first = pool.acquire('node-1');
  const second = pool.acquire('node-1');
  const other = pool.acquire('node-2');
  assert.equal(first, second);
  assert.notEqual(first, other);
  assert.equal(pool.size, 2);
  assert.equal(pool.value(first), 'node-1');
  assert.equal(pool.idOf('node-1'), first);

  pool.release(first);
  assert.equal(pool.idOf('node-1'), first, 'one reference is left');
  assert.equal(pool.value(first), 'node-1');
  pool.release(first);
  assert.equal(pool.idOf('node-1'), undefined, 'the last reference is gone');
  assert.equal(pool.size, 1);
});

test('a released id is reused for the next new string', () => {
  const pool = new StringPool();
  const a = pool.acquire('a');
  pool.acquire('b');
  pool.release(a);
  const c = pool.acquire('c');
  assert.equal(c, a);
  assert.equal(pool.value(c), 'c');
  assert.equal(pool.idOf('a'), undefined);
  assert.equal(pool.hashState(c), fnv1aString('c'), 'the reused id carries the new string hash');
});

test('idOf does not take a reference', () => {
  const pool = new StringPool();
  const id = pool.acquire('x');
  pool.idOf('x');
  pool.idOf('x');
  pool.release(id);
  assert.equal(pool.size, 0);
});

test('hashState is the FNV-1a state of the string', () => {
  const pool = new StringPool();
  for (const text of ['', 'a', 'node-😀', 'é\ud800']) {
    assert.equal(pool.hashState(pool.acquire(text)), fnv1aString(text), JSON.stringify(text));
  }
});

test('releasing or reading a dead id is an assertion', () => {
  const pool = new StringPool();
  const id = pool.acquire('gone');
  pool.release(id);
  assert.throws(() => pool.release(id), AssertionError);
  assert.throws(() => pool.value(id), AssertionError);
  assert.throws(() => pool.release(12345), AssertionError);
});
