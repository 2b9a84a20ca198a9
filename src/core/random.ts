/**
 * Seeded randomness for the core. The core never calls Math.random: every random choice (peer selection,
 * page rotation, probabilities) draws from a `Random` handed in by the shell, so a simulation that starts from
 * one seed replays exactly. The generator is xoshiro128** (Blackman and Vigna), seeded through splitmix32.
 */

export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, bound). `bound` must be a positive integer. */
  int(bound: number): number;
}

/** splitmix32: turns one 32-bit seed into a stream of well-mixed 32-bit words (used for seeding only). */
export function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class SeededRandom implements Random {
  // The state words as signed 32-bit integers (the same bits as xoshiro's unsigned words): V8 keeps those as
  // small integers, where unsigned words above 2^31 would be heap-allocated numbers, one for each word
  // returned from a call that is not inlined.
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  constructor(seed: number) {
    const mix = splitmix32(seed);
    this.#s0 = mix() | 0;
    this.#s1 = mix() | 0;
    this.#s2 = mix() | 0;
    this.#s3 = mix() | 0;
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /** The next 32-bit unsigned word. */
  nextUint32(): number {
    return this.#nextWord() >>> 0;
  }

  /** The next word, as a signed 32-bit integer. */
  #nextWord(): number {
    const s1 = this.#s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
    const t = s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  next(): number {
    // 53 bits of randomness from two words, like Math.random's contract of a uniform double in [0, 1).
    const high = this.#nextWord() >>> 5;
    const low = this.#nextWord() >>> 6;
    return (high * 67108864 + low) / 9007199254740992;
  }

  int(bound: number): number {
    if (!(bound > 0) || !Number.isInteger(bound))
      throw new RangeError(`bound must be a positive integer: ${bound}`);
    return Math.floor(this.next() * bound);
  }

  /** A new independent generator derived from this one (used to give each simulated node its own stream). */
  fork(): SeededRandom {
    return new SeededRandom(this.nextUint32());
  }
}

/** Rotates a 32-bit word left by k bits; the result as a signed 32-bit integer. */
function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
