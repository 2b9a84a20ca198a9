/**
 * Pure, dependency-free hashes used by the protocol. They are part of the wire contract: two nodes compare
 * page hashes computed independently, so the exact algorithm is specified in docs/protocol.md and frozen by
 * tests. Strings are hashed as their UTF-8 bytes.
 *
 * - `memberKey(name)`: 32-bit position of a member in the key space that digest pages are cut from.
 * - `identityHashA/B(name, generation)`: two 32-bit words identifying one incarnation of a member; page
 *   hashes XOR them, so a page hash does not depend on the order members were learned in.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** murmur3's fmix32 finaliser: spreads FNV's weak low bits across the word. */
export function fmix32(input: number): number {
  let h = input >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over the UTF-8 bytes of `text`, continuing from `state`. */
export function fnv1aString(text: string, state: number = FNV_OFFSET): number {
  let h = state >>> 0;
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      h = Math.imul(h ^ code, FNV_PRIME);
      continue;
    }
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        code = 0xfffd;
      }
    } else if (code >= 0xd800 && code <= 0xdfff) {
      code = 0xfffd;
    }
    if (code < 0x800) {
      h = Math.imul(h ^ (0xc0 | (code >> 6)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | (code & 0x3f)), FNV_PRIME);
    } else if (code < 0x10000) {
      h = Math.imul(h ^ (0xe0 | (code >> 12)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((code >> 6) & 0x3f)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | (code & 0x3f)), FNV_PRIME);
    } else {
      h = Math.imul(h ^ (0xf0 | (code >> 18)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((code >> 12) & 0x3f)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | ((code >> 6) & 0x3f)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | (code & 0x3f)), FNV_PRIME);
    }
  }
  return h >>> 0;
}

/** FNV-1a over the 8 little-endian bytes of a non-negative integer below 2^53. */
export function fnv1aInteger(value: number, state: number): number {
  let h = state >>> 0;
  let low = value >>> 0;
  let high = Math.floor(value / 4294967296) >>> 0;
  for (let i = 0; i < 4; i++) {
    h = Math.imul(h ^ (low & 0xff), FNV_PRIME);
    low >>>= 8;
  }
  for (let i = 0; i < 4; i++) {
    h = Math.imul(h ^ (high & 0xff), FNV_PRIME);
    high >>>= 8;
  }
  return h >>> 0;
}

export function memberKey(name: string): number {
  return fmix32(fnv1aString(name));
}

/** Derives the second identity word from the first pass's state, so a member costs one pass over its name. */
const IDENTITY_SEED_B = 0x9747b28c;

export function identityHashA(name: string, generation: number): number {
  return identityWords(fnv1aString(name), generation)[0];
}

export function identityHashB(name: string, generation: number): number {
  return identityWords(fnv1aString(name), generation)[1];
}

/**
 * Everything the member table needs from a name and generation, from one pass over the name:
 * key = fmix32(F), A = fmix32(FNV(generation, continuing from F)), B = fmix32(FNV(generation, continuing
 * from F * 0x9E3779B1 xor 0x9747B28C)), where F is the unfinalised FNV-1a state of the name's UTF-8 bytes.
 */
export function memberHashes(
  name: string,
  generation: number,
): { key: number; hashA: number; hashB: number } {
  const state = fnv1aString(name);
  const [hashA, hashB] = identityWords(state, generation);
  return { key: fmix32(state), hashA, hashB };
}

/** `memberHashes` from a name's precomputed FNV state: writes key, A and B of member `index`. */
export function writeMemberHashes(
  nameState: number,
  generation: number,
  index: number,
  keys: Uint32Array,
  wordsA: Uint32Array,
  wordsB: Uint32Array,
): void {
  keys[index] = fmix32(nameState);
  wordsA[index] = fmix32(fnv1aInteger(generation, nameState));
  wordsB[index] = fmix32(
    fnv1aInteger(generation, (Math.imul(nameState, 0x9e3779b1) ^ IDENTITY_SEED_B) >>> 0),
  );
}

function identityWords(nameState: number, generation: number): [number, number] {
  const hashA = fmix32(fnv1aInteger(generation, nameState));
  const hashB = fmix32(fnv1aInteger(generation, (Math.imul(nameState, 0x9e3779b1) ^ IDENTITY_SEED_B) >>> 0));
  return [hashA, hashB];
}

/** A 32-bit checksum accumulator for arbitrary text, used by view checksums. */
export function hashText(text: string, state: number = FNV_OFFSET): number {
  return fnv1aString(text, state);
}
