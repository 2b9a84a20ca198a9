/**
 * Writes wire values into a buffer whose size the caller computed beforehand with the matching length
 * functions. Writing past the end is a programmer error (the lengths disagree), so it throws.
 */
import { utf8Length, varintLength } from './varint.js';

const encoder = new TextEncoder();

export class Writer {
  readonly bytes: Uint8Array;
  position: number;

  constructor(bytes: Uint8Array, position = 0) {
    this.bytes = bytes;
    this.position = position;
  }

  #ensure(count: number): void {
    if (this.position + count > this.bytes.length) {
      throw new RangeError(`writer overflow: ${this.position}+${count} > ${this.bytes.length}`);
    }
  }

  u8(value: number): void {
    this.#ensure(1);
    this.bytes[this.position++] = value & 0xff;
  }

  u16(value: number): void {
    this.#ensure(2);
    this.bytes[this.position] = (value >>> 8) & 0xff;
    this.bytes[this.position + 1] = value & 0xff;
    this.position += 2;
  }

  u32(value: number): void {
    this.#ensure(4);
    const word = value >>> 0;
    this.bytes[this.position] = word >>> 24;
    this.bytes[this.position + 1] = (word >>> 16) & 0xff;
    this.bytes[this.position + 2] = (word >>> 8) & 0xff;
    this.bytes[this.position + 3] = word & 0xff;
    this.position += 4;
  }

  varint(value: number): void {
    if (!(value >= 0) || !Number.isSafeInteger(value)) throw new RangeError(`varint out of range: ${value}`);
    this.#ensure(varintLength(value));
    const bytes = this.bytes;
    let at = this.position;
    let rest = value;
    // Above 2^31 by arithmetic, as bit operators are 32-bit (and without %, which V8 computes by a call to
    // fmod for numbers that are not small integers: a generation is milliseconds since 1970); below by shifts.
    while (rest >= 0x80000000) {
      const high = Math.floor(rest / 0x80);
      bytes[at++] = (rest - high * 0x80) | 0x80;
      rest = high;
    }
    while (rest >= 0x80) {
      bytes[at++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    bytes[at++] = rest;
    this.position = at;
  }

  string(text: string): void {
    const count = text.length;
    if (count < 0x80) {
      // Short ASCII (names, addresses, keys) in one pass: a one-byte length, then a byte a character. The
      // first character above 0x7f sends the string to the general path below, which writes over this.
      this.#ensure(1 + count);
      const bytes = this.bytes;
      const start = this.position;
      let i = 0;
      while (i < count) {
        const code = text.charCodeAt(i);
        if (code >= 0x80) break;
        bytes[start + 1 + i++] = code;
      }
      if (i === count) {
        bytes[start] = count;
        this.position = start + 1 + count;
        return;
      }
    }
    const length = utf8Length(text);
    this.varint(length);
    this.#ensure(length);
    let ascii = length === text.length;
    if (ascii) {
      for (let i = 0; i < text.length; i++) {
        const code = text.charCodeAt(i);
        if (code >= 0x80) {
          ascii = false;
          break;
        }
        this.bytes[this.position + i] = code;
      }
    }
    if (!ascii) {
      const written = encoder.encodeInto(text, this.bytes.subarray(this.position, this.position + length));
      if (written.written !== length) throw new RangeError('utf-8 length mismatch');
    }
    this.position += length;
  }

  raw(bytes: Uint8Array): void {
    this.#ensure(bytes.length);
    this.bytes.set(bytes, this.position);
    this.position += bytes.length;
  }
}
