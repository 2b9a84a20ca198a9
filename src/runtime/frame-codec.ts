/**
 * Turns messages into frames and back: the plain codec writes magic, version and cluster name in front of
 * every message; a keyring (see keyring.ts) seals the payload. Opening never throws: a frame that is
 * malformed, from another cluster or fails authentication comes back as a reason to count and drop.
 */
import {
  clusterNameProblem,
  DEFAULT_DECODE_LIMITS,
  type DecodeLimits,
  decode,
  decodeFrameHeader,
  encodeFrameWithHeader,
  FRAME_FLAG_ENCRYPTED,
  frameHeaderLength,
  type Message,
  plainFrameHeader,
} from '../wire/index.js';

export type OpenResult =
  | { readonly ok: true; readonly message: Message }
  | { readonly ok: false; readonly reason: string };

export interface FrameCodec {
  readonly clusterName: string;
  /** Bytes a frame adds around the message payload (header, nonce, tag). */
  readonly overheadBytes: number;
  seal(message: Message): Uint8Array;
  open(bytes: Uint8Array, limits?: DecodeLimits): OpenResult;
}

export class PlainFrameCodec implements FrameCodec {
  readonly clusterName: string;
  readonly overheadBytes: number;
  /** This cluster's exact plaintext header: most frames match it byte for byte and skip header decoding. */
  readonly #header: Uint8Array;

  constructor(clusterName: string) {
    const problem = clusterNameProblem(clusterName);
    if (problem !== null) throw new RangeError(`cluster name ${JSON.stringify(clusterName)} ${problem}`);
    this.clusterName = clusterName;
    this.overheadBytes = frameHeaderLength(clusterName);
    this.#header = plainFrameHeader(clusterName);
  }

  seal(message: Message): Uint8Array {
    return encodeFrameWithHeader(this.#header, message);
  }

  open(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): OpenResult {
    if (startsWith(bytes, this.#header)) {
      const decoded = decode(bytes, limits, this.#header.length);
      return decoded.ok ? { ok: true, message: decoded.value } : { ok: false, reason: decoded.reason };
    }
    // Not our exact header: decode it, to drop the frame with the precise reason.
    const frame = decodeFrameHeader(bytes);
    if (!frame.ok) return { ok: false, reason: frame.reason };
    if (frame.value.header.clusterName !== this.clusterName) return { ok: false, reason: 'wrong-cluster' };
    if ((frame.value.header.flags & FRAME_FLAG_ENCRYPTED) !== 0)
      return { ok: false, reason: 'unexpected-encryption' };
    const decoded = decode(bytes.subarray(frame.value.payloadOffset), limits);
    if (!decoded.ok) return { ok: false, reason: decoded.reason };
    return { ok: true, message: decoded.value };
  }
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}
