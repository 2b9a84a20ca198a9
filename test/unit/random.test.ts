/**
 * Proves the properties the simulator's replayability rests on: a seed fixes the whole sequence, the
 * generator is xoshiro128** seeded through splitmix32 as documented, `next` and `int` stay in their bounds,
 * forks are independent of their parent, and draws are roughly uniform.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom, splitmix32 } from '../../src/core/index.js';

function draws(random: SeededRandom, count: number): number[] {
  return Array.from({ length: count }, () => random.nextUint32());
}

/** xoshiro128** transcribed from Blackman and Vigna's reference C code (xoshiro128starstar.c). */
function referenceXoshiro(seed: number): () => number {
  const mix = splitmix32(seed);
  const s = Uint32Array.from([mix(), mix(), mix(), mix()]);
  const rotl = (word: number, bits: number) => ((word << bits) | (word >>> (32 - bits))) >>> 0;
  return () => {
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  };
}

test('the same seed gives the same sequence; different seeds give different ones', () => {
  assert.deepEqual(draws(new SeededRandom(42), 100), draws(new SeededRandom(42), 100));
  assert.notDeepEqual(draws(new SeededRandom(42), 100), draws(new SeededRandom(43), 100));
  const first = new SeededRandom(7);
  const second = new SeededRandom(7);
  for (let i = 0; i < 100; i++) {
    assert.equal(first.next(), second.next());
    assert.equal(first.int(1000), second.int(1000));
  }
});

test('the generator is xoshiro128** seeded by four splitmix32 words', () => {
  for (const seed of [0, 1, 0xdeadbeef, 0xffffffff]) {
    const reference = referenceXoshiro(seed);
    const random = new SeededRandom(seed);
    for (let i = 0; i < 1000; i++) assert.equal(random.nextUint32(), reference(), `seed ${seed} draw ${i}`);
  }
});

test('splitmix32 is a pure function of its seed and mixes neighbouring seeds apart', () => {
  const a = splitmix32(5);
  const b = splitmix32(5);
  const c = splitmix32(6);
  const fromA = [a(), a(), a()];
  assert.deepEqual(fromA, [b(), b(), b()]);
  const fromC = [c(), c(), c()];
  for (let i = 0; i < 3; i++) assert.notEqual(fromA[i], fromC[i]);
  for (const word of [...fromA, ...fromC]) assert.ok(Number.isInteger(word) && word >= 0 && word < 2 ** 32);
});

test('next is in [0, 1) and int(bound) is an integer in [0, bound)', () => {
  const random = new SeededRandom(3);
  for (let i = 0; i < 20_000; i++) {
    const value = random.next();
    assert.ok(value >= 0 && value < 1, `next ${value}`);
  }
  for (const bound of [1, 2, 3, 10, 1000, 2 ** 31, 2 ** 40]) {
    for (let i = 0; i < 2000; i++) {
      const value = random.int(bound);
      assert.ok(Number.isInteger(value) && value >= 0 && value < bound, `int(${bound}) gave ${value}`);
    }
  }
  assert.equal(random.int(1), 0);
});

test('int rejects a bound that is not a positive integer', () => {
  const random = new SeededRandom(3);
  for (const bound of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => random.int(bound), RangeError, `bound ${bound}`);
  }
});

test('a fork is deterministic and independent of its parent', () => {
  const parent = new SeededRandom(11);
  const fork = parent.fork();
  const sameParent = new SeededRandom(11);
  assert.deepEqual(draws(fork, 50), draws(sameParent.fork(), 50), 'forks of equal parents are equal');

  // The parent continues the same way however much the fork is used.
  const a = new SeededRandom(12);
  const b = new SeededRandom(12);
  const forkA = a.fork();
  b.fork();
  draws(forkA, 1000);
  assert.deepEqual(draws(a, 50), draws(b, 50));

  // Two forks, and a fork and its parent, produce different streams.
  const c = new SeededRandom(13);
  const first = c.fork();
  const second = c.fork();
  const firstDraws = draws(first, 50);
  assert.notDeepEqual(firstDraws, draws(second, 50));
  assert.notDeepEqual(firstDraws, draws(c, 50));
});

test('draws are roughly uniform (chi-square over ten buckets, mean of next, bit balance)', () => {
  const random = new SeededRandom(2024);
  const samples = 100_000;
  const buckets = new Array<number>(10).fill(0);
  for (let i = 0; i < samples; i++) buckets[random.int(10)]!++;
  const expected = samples / 10;
  const chiSquare = buckets.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
  // 9 degrees of freedom: 40 is far beyond the 99.999th percentile, so only a broken generator fails.
  assert.ok(chiSquare < 40, `chi-square ${chiSquare.toFixed(1)} over ${buckets}`);

  let sum = 0;
  for (let i = 0; i < samples; i++) sum += random.next();
  assert.ok(Math.abs(sum / samples - 0.5) < 0.01, `mean ${sum / samples}`);

  const ones = new Array<number>(32).fill(0);
  for (let i = 0; i < 20_000; i++) {
    const word = random.nextUint32();
    for (let bit = 0; bit < 32; bit++) if ((word >>> bit) & 1) ones[bit]!++;
  }
  for (let bit = 0; bit < 32; bit++) {
    assert.ok(Math.abs(ones[bit]! / 20_000 - 0.5) < 0.03, `bit ${bit} set ${ones[bit]} times`);
  }
});
