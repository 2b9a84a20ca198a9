/**
 * Authenticated encryption of every frame (AES-256-GCM) with a keyring that rolls without downtime: the
 * primary key seals, every installed key opens. To rotate, install the new key everywhere, make it primary
 * everywhere, then remove the old one. The keyring owns the invariant that the primary key is always
 * installed and that no key appears twice; the codec owns the invariant that `open` never throws.
 *
 * Encrypted frame layout (all integers big-endian):
 *
 *   offset  size  field
 *   0       2     magic 0x4756 ("GV")                      \
 *   2       1     protocol version (1)                      |  frame header, in clear;
 *   3       1     flags, FRAME_FLAG_ENCRYPTED (0x01) set    |  with the key id it is the AES-GCM
 *   4       n     cluster name (varint length + UTF-8)      |  additional data, so changing any of
 *   4+n     1     key id: first byte of SHA-256 of the key /   these bytes fails authentication
 *   5+n     12    nonce, random per frame
 *   17+n    m     ciphertext of (message code + body), as long as the plaintext
 *   17+n+m  16    GCM authentication tag
 *
 * Overhead per frame: header + 1 + 12 + 16 bytes (34 + the cluster name's bytes, for names under 128 bytes).
 * The key id only picks which installed key to try first; two keys may share one (1 in 256), so a receiver
 * still tries the others before it gives up. Random 96-bit nonces keep the chance of a repeated nonce below
 * 2^-32 for up to 2^32 frames under one key: rotate keys well before that.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomFillSync } from 'node:crypto';
import {
  clusterNameProblem,
  DEFAULT_DECODE_LIMITS,
  type DecodeLimits,
  decode,
  decodeFrameHeader,
  encodeFrameWithHeader,
  FRAME_FLAG_ENCRYPTED,
  type Message,
  plainFrameHeader,
} from '../wire/index.js';
import type { FrameCodec, OpenResult } from './frame-codec.js';

export const KEY_BYTES = 32;
export const KEY_ID_BYTES = 1;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** Keys one keyring holds: rotation needs two, a few spare cover a slow roll-out. */
export const KEYS_MAX = 16;
/** Offset of the flags byte in the frame header: magic (2 bytes) and version (1 byte) precede it. */
const FLAGS_OFFSET = 3;
const ALGORITHM = 'aes-256-gcm';
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export type KeyErrorCode =
  | 'KEYRING_EMPTY'
  | 'KEYRING_FULL'
  | 'KEY_NOT_BASE64'
  | 'KEY_WRONG_LENGTH'
  | 'KEY_DUPLICATE'
  | 'KEY_NOT_INSTALLED'
  | 'KEY_IS_PRIMARY';

/** A key or keyring operation that cannot be done; `position` is the bad key's index in the input list. */
export class KeyError extends Error {
  override readonly name = 'KeyError';
  readonly code: KeyErrorCode;
  readonly position: number | undefined;
  constructor(code: KeyErrorCode, message: string, position?: number) {
    super(message);
    this.code = code;
    this.position = position;
  }
}

interface InstalledKey {
  readonly bytes: Buffer;
  readonly id: number;
  readonly base64: string;
}

/** 32 random bytes in base64: a new cluster key (what `grapevine keygen` prints). */
export function generateKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/** The 1-byte fingerprint written in front of every frame the key seals. */
export function keyIdOf(key: Uint8Array): number {
  return createHash('sha256').update(key).digest()[0]!;
}

function decodeKey(text: string, where: string, position?: number): InstalledKey {
  const base64 = text.trim();
  if (!BASE64_PATTERN.test(base64) || base64.length === 0) {
    throw new KeyError('KEY_NOT_BASE64', `${where} is not valid base64`, position);
  }
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length !== KEY_BYTES) {
    throw new KeyError(
      'KEY_WRONG_LENGTH',
      `${where} is ${bytes.length} bytes; keys are ${KEY_BYTES} bytes (generate one with \`grapevine keygen\`)`,
      position,
    );
  }
  return { bytes, id: keyIdOf(bytes), base64: bytes.toString('base64') };
}

export class Keyring {
  /** Installed keys, the primary first. */
  #keys: InstalledKey[];

  private constructor(keys: InstalledKey[]) {
    this.#keys = keys;
  }

  /** A keyring from base64 keys; the first is the primary. Error messages name the position, never the key. */
  static fromBase64(keys: readonly string[]): Keyring {
    if (keys.length === 0) throw new KeyError('KEYRING_EMPTY', 'a keyring needs at least one key');
    if (keys.length > KEYS_MAX) {
      throw new KeyError('KEYRING_FULL', `a keyring holds at most ${KEYS_MAX} keys, got ${keys.length}`);
    }
    const installed: InstalledKey[] = [];
    keys.forEach((text, index) => {
      const key = decodeKey(text, `key ${index + 1} of ${keys.length}`, index);
      const twin = installed.findIndex((other) => other.bytes.equals(key.bytes));
      if (twin >= 0) {
        throw new KeyError('KEY_DUPLICATE', `key ${index + 1} repeats key ${twin + 1}`, index);
      }
      installed.push(key);
    });
    return new Keyring(installed);
  }

  /** Key id (fingerprint byte) of the primary key, which seals every outgoing frame. */
  get primaryId(): number {
    return this.#keys[0]!.id;
  }

  get size(): number {
    return this.#keys.length;
  }

  /** The installed keys in base64, the primary first (for `keys list`; they are secrets). */
  list(): string[] {
    return this.#keys.map((key) => key.base64);
  }

  /** Installs a key that decrypts from now on; the primary is unchanged. Installing it again is a no-op. */
  install(key: string): void {
    const candidate = decodeKey(key, 'the key');
    if (this.#indexOf(candidate) >= 0) return;
    if (this.#keys.length >= KEYS_MAX) {
      throw new KeyError('KEYRING_FULL', `the keyring already holds ${KEYS_MAX} keys: remove one first`);
    }
    this.#keys = [...this.#keys, candidate];
  }

  /** Makes an installed key the primary (it seals from now on). */
  use(key: string): void {
    const index = this.#indexOf(decodeKey(key, 'the key'));
    if (index < 0) throw new KeyError('KEY_NOT_INSTALLED', 'the key is not installed: install it first');
    const chosen = this.#keys[index]!;
    this.#keys = [chosen, ...this.#keys.filter((_, position) => position !== index)];
  }

  /** Removes a key that is not the primary. */
  remove(key: string): void {
    const index = this.#indexOf(decodeKey(key, 'the key'));
    if (index < 0) throw new KeyError('KEY_NOT_INSTALLED', 'the key is not installed');
    if (index === 0)
      throw new KeyError('KEY_IS_PRIMARY', 'the primary key cannot be removed: use another first');
    this.#keys = this.#keys.filter((_, position) => position !== index);
  }

  /** @internal The primary key's bytes and id. */
  primary(): { readonly bytes: Buffer; readonly id: number } {
    return this.#keys[0]!;
  }

  /** @internal Keys to try for a frame sealed under `id`: those with that id first, then the others. */
  candidates(id: number): Buffer[] {
    const matching: Buffer[] = [];
    const others: Buffer[] = [];
    for (const key of this.#keys) (key.id === id ? matching : others).push(key.bytes);
    return matching.concat(others);
  }

  #indexOf(candidate: InstalledKey): number {
    return this.#keys.findIndex((key) => key.bytes.equals(candidate.bytes));
  }
}

export interface KeyringFrameCodecOptions {
  readonly clusterName: string;
  readonly keyring: Keyring;
}

export class KeyringFrameCodec implements FrameCodec {
  readonly clusterName: string;
  readonly overheadBytes: number;
  readonly keyring: Keyring;
  /** The plaintext frame header of this cluster, encoded once. */
  readonly #plainHeader: Uint8Array;
  readonly #headerBytes: number;

  constructor(options: KeyringFrameCodecOptions) {
    const problem = clusterNameProblem(options.clusterName);
    if (problem !== null)
      throw new RangeError(`cluster name ${JSON.stringify(options.clusterName)} ${problem}`);
    this.clusterName = options.clusterName;
    this.keyring = options.keyring;
    this.#plainHeader = plainFrameHeader(options.clusterName);
    this.#headerBytes = this.#plainHeader.length;
    this.overheadBytes = this.#headerBytes + KEY_ID_BYTES + NONCE_BYTES + TAG_BYTES;
  }

  seal(message: Message): Uint8Array {
    // The plain frame gives the header and the plaintext; the header's flags byte then says "encrypted".
    const plain = encodeFrameWithHeader(this.#plainHeader, message);
    const headerBytes = this.#headerBytes;
    const plaintext = plain.subarray(headerBytes);
    // A plain Uint8Array, not a Buffer: callers may `slice()` it and expect a copy.
    const sealed = new Uint8Array(this.overheadBytes + plaintext.length);
    sealed.set(plain.subarray(0, headerBytes), 0);
    sealed[FLAGS_OFFSET] = sealed[FLAGS_OFFSET]! | FRAME_FLAG_ENCRYPTED;
    const { bytes: key, id } = this.keyring.primary();
    sealed[headerBytes] = id;
    const nonceOffset = headerBytes + KEY_ID_BYTES;
    const nonce = sealed.subarray(nonceOffset, nonceOffset + NONCE_BYTES);
    randomFillSync(nonce);
    const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(sealed.subarray(0, nonceOffset));
    const ciphertextOffset = nonceOffset + NONCE_BYTES;
    const written = copyAll(sealed, ciphertextOffset, cipher.update(plaintext), cipher.final());
    sealed.set(cipher.getAuthTag(), ciphertextOffset + written);
    return sealed;
  }

  open(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): OpenResult {
    const frame = decodeFrameHeader(bytes);
    if (!frame.ok) return { ok: false, reason: frame.reason };
    if (frame.value.header.clusterName !== this.clusterName) return { ok: false, reason: 'wrong-cluster' };
    if ((frame.value.header.flags & FRAME_FLAG_ENCRYPTED) === 0)
      return { ok: false, reason: 'missing-encryption' };
    const headerBytes = frame.value.payloadOffset;
    if (bytes.length < headerBytes + KEY_ID_BYTES + NONCE_BYTES + TAG_BYTES) {
      return { ok: false, reason: 'truncated' };
    }
    const plaintext = this.#decrypt(bytes, headerBytes);
    if (plaintext === null) return { ok: false, reason: 'authentication' };
    const decoded = decode(plaintext, limits);
    if (!decoded.ok) return { ok: false, reason: decoded.reason };
    return { ok: true, message: decoded.value };
  }

  /** The plaintext, or null when no installed key authenticates the frame. */
  #decrypt(bytes: Uint8Array, headerBytes: number): Uint8Array | null {
    const nonceOffset = headerBytes + KEY_ID_BYTES;
    const ciphertextOffset = nonceOffset + NONCE_BYTES;
    const tagOffset = bytes.length - TAG_BYTES;
    const additionalData = bytes.subarray(0, nonceOffset);
    const nonce = bytes.subarray(nonceOffset, ciphertextOffset);
    const ciphertext = bytes.subarray(ciphertextOffset, tagOffset);
    const tag = bytes.subarray(tagOffset);
    for (const key of this.keyring.candidates(bytes[headerBytes]!)) {
      const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(additionalData);
      decipher.setAuthTag(tag);
      const head = decipher.update(ciphertext);
      try {
        const tail = decipher.final();
        return tail.length === 0 ? head : Buffer.concat([head, tail]);
      } catch {
        // Authentication failed under this key: try the next installed one.
      }
    }
    return null;
  }
}

/** Copies the chunks one after another into `target` from `offset`; returns the bytes written. */
function copyAll(target: Uint8Array, offset: number, ...chunks: Uint8Array[]): number {
  let position = offset;
  for (const chunk of chunks) {
    target.set(chunk, position);
    position += chunk.length;
  }
  return position - offset;
}
