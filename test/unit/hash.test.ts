/**
 * Proves that the protocol's hashes are the documented algorithms, bit for bit: FNV-1a against the FNV
 * reference vectors, fmix32 against murmur3's published vectors, UTF-8 handling against TextEncoder's bytes
 * (astral characters and lone surrogates included), and the member key and identity words against the
 * formula in hash.ts, with a few values frozen because peers compare them on the wire.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  fmix32,
  fnv1aInteger,
  fnv1aString,
  hashText,
  identityHashA,
  identityHashB,
  memberHashes,
  memberKey,
  writeMemberHashes,
} from '../../src/core/hash.js';

const encoder = new TextEncoder();

/** FNV-1a 32 as the reference code states it: for each byte, xor then multiply by the FNV prime. */
function referenceFnv(bytes: Uint8Array, state = 0x811c9dc5): number {
  let hash = state >>> 0;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash;
}

/** murmur3 x86_32 (Appleby's reference), with the finaliser under test. */
function murmur3(bytes: Uint8Array, seed: number): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const scramble = (block: number) => {
    const mixed = Math.imul(block, c1);
    return Math.imul(((mixed << 15) | (mixed >>> 17)) >>> 0, c2);
  };
  let hash = seed >>> 0;
  const blocks = bytes.length >> 2;
  for (let index = 0; index < blocks; index++) {
    const at = 4 * index;
    const block = bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24);
    hash ^= scramble(block);
    hash = (hash << 13) | (hash >>> 19);
    hash = (Math.imul(hash, 5) + 0xe6546b64) >>> 0;
  }
  let tail = 0;
  const rest = bytes.length & 3;
  const at = blocks * 4;
  if (rest >= 3) tail ^= bytes[at + 2]! << 16;
  if (rest >= 2) tail ^= bytes[at + 1]! << 8;
  if (rest >= 1) {
    tail ^= bytes[at]!;
    hash ^= scramble(tail);
  }
  hash ^= bytes.length;
  return fmix32(hash);
}

/** The 8 little-endian bytes of a non-negative integer below 2^53. */
function littleEndian64(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  let rest = BigInt(value);
  for (let i = 0; i < 8; i++) {
    bytes[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return bytes;
}

/** hash.ts's documented formula for key and identity words, rebuilt from the reference FNV. */
function referenceHashes(name: string, generation: number): { key: number; hashA: number; hashB: number } {
  const nameState = referenceFnv(encoder.encode(name));
  const generationBytes = littleEndian64(generation);
  const seedB = (Math.imul(nameState, 0x9e3779b1) ^ 0x9747b28c) >>> 0;
  return {
    key: fmix32(nameState),
    hashA: fmix32(referenceFnv(generationBytes, nameState)),
    hashB: fmix32(referenceFnv(generationBytes, seedB)),
  };
}

test('FNV-1a matches the reference test vectors', () => {
  const vectors: [string, number][] = [
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['b', 0xe70c2de5],
    ['ab', 0x4d2505ca],
    ['abc', 0x1a47e90b],
    ['foo', 0xa9f37ed7],
    ['foobar', 0xbf9cf968],
  ];
  for (const [text, expected] of vectors) {
    assert.equal(fnv1aString(text), expected, JSON.stringify(text));
    assert.equal(referenceFnv(encoder.encode(text)), expected, `reference: ${JSON.stringify(text)}`);
    assert.equal(hashText(text), expected, `hashText: ${JSON.stringify(text)}`);
  }
});

test('FNV-1a continues from a given state as if the texts were concatenated', () => {
  for (const [left, right] of [
    ['foo', 'bar'],
    ['', 'x'],
    ['é', '😀'],
  ] as const) {
    assert.equal(fnv1aString(right, fnv1aString(left)), fnv1aString(left + right));
  }
});

test('fmix32 matches murmur3 x86_32 published vectors', () => {
  const vectors: [number[], number, number][] = [
    [[], 0, 0],
    [[], 1, 0x514e28b7],
    [[], 0xffffffff, 0x81f16f39],
    [[0xff, 0xff, 0xff, 0xff], 0, 0x76293b50],
    [[0x21, 0x43, 0x65, 0x87], 0, 0xf55b516b],
    [[0x21, 0x43, 0x65, 0x87], 0x5082edee, 0x2362f9de],
    [[0x21, 0x43, 0x65], 0, 0x7e4a8634],
    [[0x21, 0x43], 0, 0xa0f7b07a],
    [[0x21], 0, 0x72661cf4],
    [[0, 0, 0, 0], 0, 0x2362f9de],
    [[0, 0, 0], 0, 0x85f0b427],
    [[0, 0], 0, 0x30f4c306],
    [[0], 0, 0x514e28b7],
  ];
  for (const [bytes, seed, expected] of vectors) {
    assert.equal(murmur3(Uint8Array.from(bytes), seed), expected, `${bytes} seed ${seed}`);
  }
  // murmur3 of nothing is fmix32 of the seed, so these pin the finaliser alone.
  assert.equal(fmix32(1), 0x514e28b7);
  assert.equal(fmix32(0xffffffff), 0x81f16f39);
  assert.equal(fmix32(-1), 0x81f16f39, 'a negative int32 is read as its unsigned bits');
});

test('strings are hashed as the UTF-8 bytes TextEncoder writes, lone surrogates as U+FFFD', () => {
  const samples = [
    'plain ascii',
    '\u007f\u0080',
    'é',
    '\u07ff\u0800',
    '€',
    '\uffff',
    '😀',
    '\u{10000}\u{10ffff}',
    'a\ud800',
    '\ud800b',
    '\udc00',
    '\udc00\ud800',
    '\ud800\ud800\udc00',
    '\ud83d',
    'node-😀-\udfff-é',
  ];
  for (const text of samples) {
    assert.equal(fnv1aString(text), referenceFnv(encoder.encode(text)), JSON.stringify(text));
  }
  assert.deepEqual(encoder.encode('\ud800'), Uint8Array.from([0xef, 0xbf, 0xbd]), 'U+FFFD is what is hashed');
});

test('any UTF-16 string hashes like its TextEncoder bytes (property)', () => {
  const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));
  const text = fc.oneof(fc.string({ unit: codeUnit }), fc.string({ unit: 'binary' }));
  fc.assert(
    fc.property(text, (value) => fnv1aString(value) === referenceFnv(encoder.encode(value))),
    { numRuns: 500 },
  );
});

test('fnv1aInteger hashes the 8 little-endian bytes of the integer', () => {
  for (const value of [0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5, 1_700_000_000_000, 2 ** 53 - 1]) {
    for (const state of [0x811c9dc5, 0, 0xdeadbeef]) {
      assert.equal(fnv1aInteger(value, state), referenceFnv(littleEndian64(value), state), `${value}`);
    }
  }
});

test('member key and identity words follow the documented formula', () => {
  const names = ['a', 'node-1', 'é', '😀-host', 'x'.repeat(100)];
  for (const name of names) {
    for (const generation of [0, 1, 7, 1_700_000_000_123, 2 ** 53 - 1]) {
      const expected = referenceHashes(name, generation);
      assert.equal(memberKey(name), expected.key, `key of ${name}`);
      assert.equal(identityHashA(name, generation), expected.hashA, `A of ${name}/${generation}`);
      assert.equal(identityHashB(name, generation), expected.hashB, `B of ${name}/${generation}`);
      assert.deepEqual(memberHashes(name, generation), expected);
      const keys = new Uint32Array(3);
      const wordsA = new Uint32Array(3);
      const wordsB = new Uint32Array(3);
      writeMemberHashes(fnv1aString(name), generation, 1, keys, wordsA, wordsB);
      assert.deepEqual([keys[1], wordsA[1], wordsB[1]], [expected.key, expected.hashA, expected.hashB]);
    }
  }
});

test('the identity of a member changes with its generation, its key does not', () => {
  const first = memberHashes('node-1', 1);
  const second = memberHashes('node-1', 2);
  assert.equal(first.key, second.key);
  assert.notEqual(first.hashA, second.hashA);
  assert.notEqual(first.hashB, second.hashB);
});

test('frozen wire values: keys and identity words of a few members', () => {
  // Computed once from the reference formula above; peers of different versions compare these, so a
  // change here is a wire-format change (bump PROTOCOL_VERSION and say so in docs/protocol.md).
  const frozen: [string, number, number, number, number][] = [
    ['node-1', 1, 0xaac87624, 0x437d7cd7, 0x38767c15],
    ['node-2', 1, 0xacd784e4, 0x7ea3ba8b, 0x91da43df],
    ['a', 0, 0x1a80b1b3, 0xad5c3288, 0x2736037f],
    ['😀-host', 1_700_000_000_000, 0xb3c81f93, 0x30b95c8d, 0x61324c6f],
  ];
  for (const [name, generation, key, hashA, hashB] of frozen) {
    assert.deepEqual(memberHashes(name, generation), { key, hashA, hashB }, `${name}/${generation}`);
  }
});

test('the worked example of docs/protocol.md, step by step', () => {
  const name = 'node-a';
  const generation = 1_700_000_000_000;
  const nameState = fnv1aString(name);
  assert.equal(nameState, 0x04c3b593, 'F');
  assert.deepEqual(
    littleEndian64(generation),
    Uint8Array.from([0x00, 0x68, 0xe5, 0xcf, 0x8b, 0x01, 0x00, 0x00]),
  );
  assert.equal(fnv1aInteger(generation, nameState), 0x8a81d207, 'FNV-1a of G from F');
  const stateB = (Math.imul(nameState, 0x9e3779b1) ^ 0x9747b28c) >>> 0;
  assert.equal(stateB, 0x1fffb72f, 'state for B');
  assert.equal(fnv1aInteger(generation, stateB), 0xeb556013, 'FNV-1a of G from the state for B');
  assert.deepEqual(memberHashes(name, generation), { key: 0x3bc1e404, hashA: 0x43bf7f14, hashB: 0xfd014234 });
});
