/**
 * Reads wire values from untrusted bytes. Every read is bounds-checked; a violation throws `DecodeFailure`,
 * which the codec catches at its single entry point and turns into a `{ ok: false }` result, so no exception
 * ever escapes to the caller for bad peer bytes.
 */

// ignoreBOM: a leading U+FEFF is part of the string, not a byte-order mark to strip (names must round-trip).
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Recently decoded short ASCII strings, in a direct-mapped cache indexed by the hash of their bytes: a slot
 * holds the last string whose hash fell there (a Map was a measurable share of decoding).
 */
const RECENT_STRINGS = 8192;
const recentHashes = new Int32Array(RECENT_STRINGS);
const recentStrings: string[] = new Array<string>(RECENT_STRINGS).fill('');

function internAscii(bytes: Uint8Array, start: number, length: number, hash: number): string {
  const index = hash & (RECENT_STRINGS - 1);
  const known = recentStrings[index]!;
  if (recentHashes[index] === hash && known.length === length) {
    let same = true;
    for (let i = 0; i < length && same; i++) same = known.charCodeAt(i) === bytes[start + i];
    if (same) return known;
  }
  const text = String.fromCharCode.apply(null, bytes.subarray(start, start + length) as unknown as number[]);
  recentHashes[index] = hash;
  recentStrings[index] = text;
  return text;
}

export class DecodeFailure extends Error {
  override readonly name = 'DecodeFailure';
  readonly reason: string;
  constructor(reason: string) {
    super(reason);
    this.reason = reason;
  }
}

export class Reader {
  readonly bytes: Uint8Array;
  position: number;
  readonly end: number;

  constructor(bytes: Uint8Array, position = 0, end = bytes.length) {
    this.bytes = bytes;
    this.position = position;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.position;
  }

  #need(count: number): void {
    if (this.position + count > this.end) throw new DecodeFailure('truncated');
  }

  u8(): number {
    this.#need(1);
    return this.bytes[this.position++]!;
  }

  u16(): number {
    this.#need(2);
    const bytes = this.bytes;
    const value = (bytes[this.position]! << 8) | bytes[this.position + 1]!;
    this.position += 2;
    return value;
  }

  u32(): number {
    this.#need(4);
    const bytes = this.bytes;
    const at = this.position;
    // Big-endian, without a DataView: one is an allocation per frame, and frames come by the million.
    const value = bytes[at]! * 0x1000000 + ((bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!);
    this.position += 4;
    return value;
  }

  /** A varint no larger than `max` (at most Number.MAX_SAFE_INTEGER), in its shortest form. */
  varint(max: number = Number.MAX_SAFE_INTEGER): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      this.#need(1);
      const byte = this.bytes[this.position++]!;
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) throw new DecodeFailure('varint-not-minimal');
        if (value > max) throw new DecodeFailure('varint-too-large');
        return value;
      }
      scale *= 0x80;
    }
    throw new DecodeFailure('varint-too-long');
  }

  /**
   * Skips `pairs` pairs of varints, checked as `varint(firstMax)` and `varint(secondMax)` would check them
   * (both bounds at least 2^14). Varints of one and two bytes, nearly all of a digest page's, are checked
   * here without a call; longer ones go through `varint`.
   */
  skipVarintPairs(pairs: number, firstMax: number, secondMax: number): void {
    const bytes = this.bytes;
    const end = this.end;
    let at = this.position;
    for (let i = 0; i < 2 * pairs; i++) {
      if (at < end) {
        const first = bytes[at]!;
        if (first < 0x80) {
          at += 1;
          continue;
        }
        // A second byte of 0 would not be minimal: varint() refuses it below.
        const second = at + 1 < end ? bytes[at + 1]! : 0;
        if (second !== 0 && second < 0x80) {
          at += 2;
          continue;
        }
      }
      this.position = at;
      this.varint((i & 1) === 0 ? firstMax : secondMax);
      at = this.position;
    }
    this.position = at;
  }

  /** A count of list items, each taking at least `itemBytesMin` bytes, bounded by `max` and by what is left. */
  count(max: number, itemBytesMin = 1): number {
    const value = this.varint(max);
    if (value * itemBytesMin > this.remaining) throw new DecodeFailure('count-exceeds-bytes');
    return value;
  }

  string(maxBytes: number): string {
    const length = this.varint(maxBytes);
    this.#need(length);
    const start = this.position;
    this.position += length;
    if (length < 64) {
      // Short ASCII strings (names, addresses, keys) are the common case, and they repeat: every digest
      // names its sender. Hash them while checking they are ASCII, and hand back the string decoded last
      // time for the same bytes (verified character by character), so a steady stream of frames allocates
      // no strings at all.
      let ascii = true;
      let hash = 0x811c9dc5 ^ length;
      for (let i = start; i < start + length; i++) {
        const byte = this.bytes[i]!;
        if (byte >= 0x80) {
          ascii = false;
          break;
        }
        hash = Math.imul(hash ^ byte, 0x01000193);
      }
      if (ascii) return internAscii(this.bytes, start, length, hash | 0);
    }
    try {
      return decoder.decode(this.bytes.subarray(start, start + length));
    } catch {
      throw new DecodeFailure('invalid-utf8');
    }
  }

  raw(length: number): Uint8Array {
    this.#need(length);
    const slice = this.bytes.subarray(this.position, this.position + length);
    this.position += length;
    return slice;
  }
}
