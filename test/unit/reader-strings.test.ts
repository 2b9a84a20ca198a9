/**
 * The reader hands back short ASCII strings from a small cache of recent ones: the cache may only save
 * allocations, never change what is read. Two different strings that fall in the same cache slot, and
 * strings of the same length that differ in one byte, decode to themselves whatever the order.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stringLength, Writer } from '../../src/wire/index.js';
import { Reader } from '../../src/wire/reader.js';

/** The reader's hash of a short ASCII string; its cache slot is the hash mod 8192. */
function readerHash(text: string): number {
  let hash = 0x811c9dc5 ^ text.length;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash | 0;
}

function cacheIndex(text: string): number {
  return readerHash(text) & 8191;
}

function encoded(text: string): Uint8Array {
  const bytes = new Uint8Array(stringLength(text));
  new Writer(bytes).string(text);
  return bytes;
}

function read(text: string): string {
  return new Reader(encoded(text)).string(64);
}

test('strings sharing a cache slot decode to themselves, in any order', () => {
  const first = 'node-0';
  let second = '';
  for (let i = 1; second === ''; i++) {
    const candidate = `node-${i}`;
    if (cacheIndex(candidate) === cacheIndex(first)) second = candidate;
  }
  assert.notEqual(first, second);
  for (const text of [first, second, first, first, second, second, first]) assert.equal(read(text), text);
});

test('two strings with the same length and the same 32-bit hash decode to themselves', () => {
  // A birthday search over pseudo-random strings of one length: about 2^16 of them give a full collision.
  const seen = new Map<number, string>();
  let pair: [string, string] | null = null;
  let state = 1;
  for (let i = 0; pair === null && i < 1_000_000; i++) {
    let text = '';
    for (let c = 0; c < 12; c++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      text += String.fromCharCode(97 + ((state >>> 16) % 26));
    }
    const hash = readerHash(text);
    const earlier = seen.get(hash);
    if (earlier !== undefined) pair = [earlier, text];
    else seen.set(hash, text);
  }
  assert.ok(pair !== null, 'a colliding pair exists among a million strings');
  const [first, second] = pair;
  for (const text of [first, second, first, second, second, first]) assert.equal(read(text), text);
});

test('strings of one length differing in one byte are never confused', () => {
  const texts = ['10.0.0.1:7946', '10.0.0.2:7946', '10.0.0.1:7947', '10.0.0.1:7946'];
  for (let round = 0; round < 3; round++) for (const text of texts) assert.equal(read(text), text);
});

test('the writer puts a string as its UTF-8 length and bytes, whether it is ASCII, turns non-ASCII late, or is long', () => {
  const utf8 = new TextEncoder();
  for (const text of [
    'node-7',
    'node-7\u00e9',
    'abc\u{1f600}',
    '\u00e9abc',
    'x'.repeat(127),
    'x'.repeat(128),
  ]) {
    const body = utf8.encode(text);
    const prefix = body.length < 128 ? [body.length] : [(body.length & 0x7f) | 0x80, body.length >> 7];
    assert.deepEqual([...encoded(text)], [...prefix, ...body], JSON.stringify(text));
  }
});
