/**
 * The binary codec for grapevine's wire format v1 (docs/protocol.md is the specification).
 *
 * Invariants kept here:
 * - `encodedLength(m) === encode(m).length` for every message (the core packs datagrams with it);
 * - `decode` never throws on peer bytes: it returns `{ ok: false, reason }`, and every length and count it
 *   reads is bounded by `DecodeLimits` and by the bytes actually present;
 * - message codes are append-only: a code, once shipped, keeps its meaning forever.
 */

import { freshBytes } from './byte-slab.js';
import {
  type AckMessage,
  type Digest,
  type ExplicitPage,
  type HeartbeatMessage,
  type KeyValue,
  MEMBER_STATUSES,
  type MemberEntry,
  type Message,
  type OwnerDelta,
  type Page,
  type PositionalPage,
  type SynAckMessage,
  type SyncMessage,
  type SynMessage,
  VERDICT_REASONS,
  type VerdictNote,
} from './messages.js';
import { DecodeFailure, Reader } from './reader.js';
import { stringLength, utf8Length, varintLength } from './varint.js';
import { Writer } from './writer.js';

/** Append-only table of message codes. Never reuse or renumber a code. */
export const MESSAGE_CODES = {
  syn: 1,
  'syn-ack': 2,
  ack: 3,
  sync: 4,
  heartbeat: 5,
} as const satisfies Record<Message['type'], number>;

/** Every message type, in code order. */
export const MESSAGE_TYPES = Object.keys(MESSAGE_CODES) as readonly Message['type'][];

/** Versions and heartbeats above this are refused: versions are packed with a status into one varint. */
export const COUNTER_MAX = 2 ** 48;

export interface DecodeLimits {
  readonly nameBytesMax: number;
  readonly addressBytesMax: number;
  readonly keyBytesMax: number;
  readonly valueBytesMax: number;
  /** Upper bound for any single list (news, page entries, deltas, key-values). */
  readonly listCountMax: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  nameBytesMax: 128,
  addressBytesMax: 256,
  keyBytesMax: 512,
  valueBytesMax: 65536,
  listCountMax: 1 << 20,
};

export type DecodeResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

// ---------------------------------------------------------------------------------------------------------
// Lengths

const STATUS_CODES = new Map(MEMBER_STATUSES.map((status, index) => [status, index]));
const REASON_CODES = new Map(VERDICT_REASONS.map((reason, index) => [reason, index]));

export function verdictLength(verdict: VerdictNote): number {
  return (
    stringLength(verdict.accuser) + 1 + varintLength(verdict.phiHundredths) + varintLength(verdict.silenceMs)
  );
}

export function memberEntryLength(entry: MemberEntry): number {
  return (
    stringLength(entry.name) +
    varintLength(entry.generation) +
    stringLength(entry.address) +
    varintLength(entry.heartbeat) +
    1 +
    varintLength(entry.maxVersion) +
    (entry.verdict === null ? 0 : verdictLength(entry.verdict))
  );
}

/** Bytes one member takes in a positional page. */
export function positionalEntryLength(heartbeat: number, maxVersion: number, statusIndex: number): number {
  return varintLength(heartbeat) + varintLength(maxVersion * 4 + statusIndex);
}

/** Bytes of a positional page's fixed part (everything except its entries). */
export function positionalPageHeaderLength(rangeStart: number, rangeEnd: number, count: number): number {
  return 1 + varintLength(rangeStart) + varintLength(rangeEnd) + 8 + varintLength(count);
}

export function explicitPageHeaderLength(rangeStart: number, rangeEnd: number, count: number): number {
  return 1 + varintLength(rangeStart) + varintLength(rangeEnd) + varintLength(count);
}

export function pageLength(page: Page | null): number {
  if (page === null) return 1;
  if (page.kind === 'positional') {
    return positionalPageHeaderLength(page.rangeStart, page.rangeEnd, page.count) + page.entries.length;
  }
  let length = explicitPageHeaderLength(page.rangeStart, page.rangeEnd, page.entries.length);
  for (const entry of page.entries) length += memberEntryLength(entry);
  return length;
}

/** Bytes a digest takes when it has no news and no page; add news entries and the page to it. */
export function digestBaseLength(sender: MemberEntry, newsCount: number): number {
  return memberEntryLength(sender) + varintLength(newsCount);
}

export function digestLength(digest: Digest): number {
  let length = digestBaseLength(digest.sender, digest.news.length) + pageLength(digest.page);
  for (const entry of digest.news) length += memberEntryLength(entry);
  return length;
}

export function keyValueLength(entry: KeyValue): number {
  return (
    stringLength(entry.key) +
    varintLength(entry.version * 2 + (entry.value === null ? 1 : 0)) +
    (entry.value === null ? 0 : stringLength(entry.value))
  );
}

/** Bytes of an owner delta without its key-values; add `keyValueLength` of each entry. */
export function ownerDeltaHeaderLength(
  member: MemberEntry,
  fromVersion: number,
  gcVersion: number,
  entryCount: number,
): number {
  return (
    memberEntryLength(member) +
    1 +
    varintLength(fromVersion) +
    varintLength(gcVersion) +
    varintLength(entryCount)
  );
}

export function ownerDeltaLength(delta: OwnerDelta): number {
  let length = ownerDeltaHeaderLength(delta.member, delta.fromVersion, delta.gcVersion, delta.entries.length);
  for (const entry of delta.entries) length += keyValueLength(entry);
  return length;
}

function deltasLength(deltas: readonly OwnerDelta[]): number {
  let length = varintLength(deltas.length);
  for (const delta of deltas) length += ownerDeltaLength(delta);
  return length;
}

/** Exact number of bytes `encode(message)` produces: the message code plus its body. */
export function encodedLength(message: Message): number {
  switch (message.type) {
    case 'syn':
      return 1 + digestLength(message.digest);
    case 'syn-ack':
      return 1 + digestLength(message.digest) + deltasLength(message.deltas);
    case 'ack':
      return 1 + deltasLength(message.deltas);
    case 'heartbeat':
      return 1 + memberEntryLength(message.sender);
    case 'sync': {
      let length = 1 + memberEntryLength(message.sender) + 1 + varintLength(message.members.length);
      for (const entry of message.members) length += memberEntryLength(entry);
      return length + deltasLength(message.deltas);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

function writeMemberEntry(writer: Writer, entry: MemberEntry): void {
  // Decoders refuse empty names; writing one is a bug on this side.
  if (entry.name.length === 0) throw new RangeError('a member entry needs a name');
  const status = STATUS_CODES.get(entry.status);
  if (status === undefined) throw new RangeError(`unknown status ${entry.status}`);
  writer.string(entry.name);
  writer.varint(entry.generation);
  writer.string(entry.address);
  writer.varint(entry.heartbeat);
  writer.u8(status | (entry.verdict === null ? 0 : 0x04));
  writer.varint(entry.maxVersion);
  if (entry.verdict !== null) {
    const reason = REASON_CODES.get(entry.verdict.reason);
    if (reason === undefined) throw new RangeError(`unknown verdict reason ${entry.verdict.reason}`);
    writer.string(entry.verdict.accuser);
    writer.u8(reason);
    writer.varint(entry.verdict.phiHundredths);
    writer.varint(entry.verdict.silenceMs);
  }
}

function writePage(writer: Writer, page: Page | null): void {
  if (page === null) {
    writer.u8(0);
    return;
  }
  if (page.kind === 'positional') {
    writer.u8(1);
    writer.varint(page.rangeStart);
    writer.varint(page.rangeEnd);
    writer.u32(page.hashA);
    writer.u32(page.hashB);
    writer.varint(page.count);
    writer.raw(page.entries);
    return;
  }
  writer.u8(2);
  writer.varint(page.rangeStart);
  writer.varint(page.rangeEnd);
  writer.varint(page.entries.length);
  for (const entry of page.entries) writeMemberEntry(writer, entry);
}

function writeDigest(writer: Writer, digest: Digest): void {
  writeMemberEntry(writer, digest.sender);
  writer.varint(digest.news.length);
  for (const entry of digest.news) writeMemberEntry(writer, entry);
  writePage(writer, digest.page);
}

function writeDeltas(writer: Writer, deltas: readonly OwnerDelta[]): void {
  writer.varint(deltas.length);
  for (const delta of deltas) {
    writeMemberEntry(writer, delta.member);
    writer.u8(delta.reset ? 1 : 0);
    writer.varint(delta.fromVersion);
    writer.varint(delta.gcVersion);
    writer.varint(delta.entries.length);
    for (const entry of delta.entries) {
      writer.string(entry.key);
      writer.varint(entry.version * 2 + (entry.value === null ? 1 : 0));
      if (entry.value !== null) writer.string(entry.value);
    }
  }
}

/** Writes the message (code and body) at the writer's position. */
export function writeMessage(writer: Writer, message: Message): void {
  writer.u8(MESSAGE_CODES[message.type]);
  switch (message.type) {
    case 'syn':
      writeDigest(writer, message.digest);
      return;
    case 'syn-ack':
      writeDigest(writer, message.digest);
      writeDeltas(writer, message.deltas);
      return;
    case 'ack':
      writeDeltas(writer, message.deltas);
      return;
    case 'heartbeat':
      writeMemberEntry(writer, message.sender);
      return;
    case 'sync':
      writeMemberEntry(writer, message.sender);
      writer.u8(message.replyWanted ? 1 : 0);
      writer.varint(message.members.length);
      for (const entry of message.members) writeMemberEntry(writer, entry);
      writeDeltas(writer, message.deltas);
      return;
  }
}

/** A positional page from columns (tests, tools, fixtures); the core writes entries directly instead. */
export function positionalPage(fields: {
  readonly rangeStart: number;
  readonly rangeEnd: number;
  readonly hashA: number;
  readonly hashB: number;
  readonly heartbeats: ArrayLike<number>;
  readonly maxVersions: ArrayLike<number>;
  readonly statuses: ArrayLike<number>;
}): PositionalPage {
  const count = fields.heartbeats.length;
  let length = 0;
  for (let i = 0; i < count; i++) {
    length += positionalEntryLength(fields.heartbeats[i]!, fields.maxVersions[i]!, fields.statuses[i]!);
  }
  const entries = new Uint8Array(length);
  const writer = new Writer(entries);
  for (let i = 0; i < count; i++) {
    writer.varint(fields.heartbeats[i]!);
    writer.varint(fields.maxVersions[i]! * 4 + fields.statuses[i]!);
  }
  const { rangeStart, rangeEnd, hashA, hashB } = fields;
  return { kind: 'positional', rangeStart, rangeEnd, hashA, hashB, count, entries };
}

/** The columns of a positional page (for tests and tools; the core reads entries in place). */
export function positionalEntries(page: PositionalPage): {
  heartbeats: number[];
  maxVersions: number[];
  statuses: number[];
} {
  const cursor = new VarintCursor(page.entries);
  const heartbeats: number[] = [];
  const maxVersions: number[] = [];
  const statuses: number[] = [];
  for (let i = 0; i < page.count; i++) {
    heartbeats.push(cursor.next());
    const packed = cursor.next();
    statuses.push(packed % 4);
    maxVersions.push(Math.floor(packed / 4));
  }
  return { heartbeats, maxVersions, statuses };
}

/**
 * Reads varints one after the other from bytes already validated (a decoded positional page, or one built
 * locally): no bounds checks, no allocation per value.
 */
export class VarintCursor {
  readonly bytes: Uint8Array;
  position: number;

  constructor(bytes: Uint8Array, position = 0) {
    this.bytes = bytes;
    this.position = position;
  }

  next(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.bytes[this.position++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
    }
  }
}

export function encode(message: Message): Uint8Array {
  const bytes = freshBytes(encodedLength(message));
  const writer = new Writer(bytes);
  writeMessage(writer, message);
  if (writer.position !== bytes.length) throw new RangeError('encodedLength disagrees with encode');
  return bytes;
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

function readVerdict(reader: Reader, limits: DecodeLimits): VerdictNote {
  const accuser = reader.string(limits.nameBytesMax);
  const reason = VERDICT_REASONS[reader.u8()];
  if (reason === undefined) throw new DecodeFailure('unknown-verdict-reason');
  const phiHundredths = reader.varint(COUNTER_MAX);
  const silenceMs = reader.varint(COUNTER_MAX);
  return { accuser, reason, phiHundredths, silenceMs };
}

/** Smallest encoding of a member entry: lets counts be checked against the bytes left. */
const MEMBER_ENTRY_BYTES_MIN = 6;

function readMemberEntry(reader: Reader, limits: DecodeLimits): MemberEntry {
  const name = reader.string(limits.nameBytesMax);
  if (name.length === 0) throw new DecodeFailure('empty-name');
  const generation = reader.varint();
  const address = reader.string(limits.addressBytesMax);
  const heartbeat = reader.varint(COUNTER_MAX);
  const flags = reader.u8();
  if ((flags & ~0x07) !== 0) throw new DecodeFailure('unknown-entry-flags');
  const status = MEMBER_STATUSES[flags & 0x03]!;
  const maxVersion = reader.varint(COUNTER_MAX);
  const verdict = (flags & 0x04) !== 0 ? readVerdict(reader, limits) : null;
  return { name, generation, address, heartbeat, status, maxVersion, verdict };
}

function readPage(reader: Reader, limits: DecodeLimits): Page | null {
  const kind = reader.u8();
  if (kind === 0) return null;
  if (kind !== 1 && kind !== 2) throw new DecodeFailure('unknown-page-kind');
  const rangeStart = reader.varint(2 ** 32);
  const rangeEnd = reader.varint(2 ** 32);
  if (rangeEnd < rangeStart) throw new DecodeFailure('inverted-page-range');
  if (kind === 1) {
    const hashA = reader.u32();
    const hashB = reader.u32();
    const count = reader.count(limits.listCountMax, 2);
    // Validate every entry where it lies, then keep a view of them: receivers read them in place.
    const first = reader.position;
    reader.skipVarintPairs(count, COUNTER_MAX, COUNTER_MAX * 4 + 3);
    const page: PositionalPage = {
      kind: 'positional',
      rangeStart,
      rangeEnd,
      hashA,
      hashB,
      count,
      entries: reader.bytes.subarray(first, reader.position),
    };
    return page;
  }
  const count = reader.count(limits.listCountMax, MEMBER_ENTRY_BYTES_MIN);
  const entries: MemberEntry[] = new Array(count);
  for (let i = 0; i < count; i++) entries[i] = readMemberEntry(reader, limits);
  const page: ExplicitPage = { kind: 'explicit', rangeStart, rangeEnd, entries };
  return page;
}

function readDigest(reader: Reader, limits: DecodeLimits): Digest {
  const sender = readMemberEntry(reader, limits);
  const newsCount = reader.count(limits.listCountMax, MEMBER_ENTRY_BYTES_MIN);
  if (newsCount === 0) return { sender, news: NO_ENTRIES, page: readPage(reader, limits) };
  const news: MemberEntry[] = new Array(newsCount);
  for (let i = 0; i < newsCount; i++) news[i] = readMemberEntry(reader, limits);
  const page = readPage(reader, limits);
  return { sender, news, page };
}

/**
 * Decoded lists are read-only, so every empty one can be the same array: at rest most digests carry no news
 * and most replies no deltas, and this saves an allocation per message. (Not frozen: for-of over a frozen
 * array leaves V8's fast path.)
 */
const NO_ENTRIES: readonly MemberEntry[] = [];
const NO_DELTAS: readonly OwnerDelta[] = [];

function readDeltas(reader: Reader, limits: DecodeLimits): readonly OwnerDelta[] {
  const count = reader.count(limits.listCountMax, MEMBER_ENTRY_BYTES_MIN + 4);
  if (count === 0) return NO_DELTAS;
  const deltas: OwnerDelta[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const member = readMemberEntry(reader, limits);
    const flags = reader.u8();
    if (flags > 1) throw new DecodeFailure('unknown-delta-flags');
    const fromVersion = reader.varint(COUNTER_MAX);
    const gcVersion = reader.varint(COUNTER_MAX);
    const entryCount = reader.count(limits.listCountMax, 2);
    const entries: KeyValue[] = new Array(entryCount);
    let previous = fromVersion;
    for (let j = 0; j < entryCount; j++) {
      const key = reader.string(limits.keyBytesMax);
      const packed = reader.varint(COUNTER_MAX * 2 + 1);
      const version = Math.floor(packed / 2);
      if (version <= previous) throw new DecodeFailure('delta-versions-not-ascending');
      previous = version;
      const value = packed % 2 === 1 ? null : reader.string(limits.valueBytesMax);
      entries[j] = { key, value, version };
    }
    deltas[i] = { member, reset: flags === 1, fromVersion, gcVersion, entries };
  }
  return deltas;
}

function readMessage(reader: Reader, limits: DecodeLimits): Message {
  const code = reader.u8();
  switch (code) {
    case MESSAGE_CODES.syn: {
      const message: SynMessage = { type: 'syn', digest: readDigest(reader, limits) };
      return message;
    }
    case MESSAGE_CODES['syn-ack']: {
      const digest = readDigest(reader, limits);
      const message: SynAckMessage = { type: 'syn-ack', digest, deltas: readDeltas(reader, limits) };
      return message;
    }
    case MESSAGE_CODES.ack: {
      const message: AckMessage = { type: 'ack', deltas: readDeltas(reader, limits) };
      return message;
    }
    case MESSAGE_CODES.sync: {
      const sender = readMemberEntry(reader, limits);
      const replyFlag = reader.u8();
      if (replyFlag > 1) throw new DecodeFailure('unknown-sync-flags');
      const memberCount = reader.count(limits.listCountMax, MEMBER_ENTRY_BYTES_MIN);
      const members: MemberEntry[] = new Array(memberCount);
      for (let i = 0; i < memberCount; i++) members[i] = readMemberEntry(reader, limits);
      const message: SyncMessage = {
        type: 'sync',
        sender,
        replyWanted: replyFlag === 1,
        members,
        deltas: readDeltas(reader, limits),
      };
      return message;
    }
    case MESSAGE_CODES.heartbeat: {
      const message: HeartbeatMessage = { type: 'heartbeat', sender: readMemberEntry(reader, limits) };
      return message;
    }
    default:
      throw new DecodeFailure('unknown-message-code');
  }
}

/**
 * Decodes one message (code and body) that must span all of `bytes` from `offset` on (a frame's payload
 * offset, say, without slicing). Never throws on bad input.
 */
export function decode(
  bytes: Uint8Array,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
  offset = 0,
): DecodeResult<Message> {
  try {
    const reader = new Reader(bytes, offset);
    const message = readMessage(reader, limits);
    if (reader.remaining !== 0) return { ok: false, reason: 'trailing-bytes' };
    return { ok: true, value: message };
  } catch (error) {
    if (error instanceof DecodeFailure) return { ok: false, reason: error.reason };
    // Anything else (a RangeError from a typed array allocation, say) is still the peer's fault.
    return { ok: false, reason: 'malformed' };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Frames: magic, protocol version, flags and cluster name in front of every datagram and stream message.

export const FRAME_MAGIC = 0x4756; // "GV"
export const PROTOCOL_VERSION = 1;
export const CLUSTER_NAME_BYTES_MAX = 64;
/** Flag bit: the payload is sealed by the keyring (see runtime/keyring.ts); the header is its associated data. */
export const FRAME_FLAG_ENCRYPTED = 0x01;

/**
 * Why a cluster name cannot be used, or null when it can: every peer must be able to read it back byte for
 * byte, so it is at most 64 bytes of well-formed UTF-8 (no lone surrogates). Empty is allowed.
 */
export function clusterNameProblem(name: string): string | null {
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(name)) {
    return 'must be well-formed UTF-8 (it contains a lone surrogate)';
  }
  if (utf8Length(name) > CLUSTER_NAME_BYTES_MAX)
    return `must be at most ${CLUSTER_NAME_BYTES_MAX} bytes of UTF-8`;
  return null;
}

export interface FrameHeader {
  readonly clusterName: string;
  readonly flags: number;
}

/** The exact header bytes of a plaintext frame of this cluster: receivers compare against it without decoding. */
export function plainFrameHeader(clusterName: string): Uint8Array {
  const bytes = new Uint8Array(frameHeaderLength(clusterName));
  writeFrameHeader(new Writer(bytes), { clusterName, flags: 0 });
  return bytes;
}

export function frameHeaderLength(clusterName: string): number {
  return 2 + 1 + 1 + stringLength(clusterName);
}

export function writeFrameHeader(writer: Writer, header: FrameHeader): void {
  writer.u16(FRAME_MAGIC);
  writer.u8(PROTOCOL_VERSION);
  writer.u8(header.flags);
  writer.string(header.clusterName);
}

/** A frame with a plaintext message payload. */
export function encodeFrame(clusterName: string, message: Message): Uint8Array {
  return encodeFrameWithHeader(plainFrameHeader(clusterName), message);
}

/**
 * encodeFrame for a codec that encoded its header once (`plainFrameHeader`): the same bytes, without
 * measuring and writing the cluster name again for every frame.
 */
export function encodeFrameWithHeader(header: Uint8Array, message: Message): Uint8Array {
  const bytes = freshBytes(header.length + encodedLength(message));
  for (let i = 0; i < header.length; i++) bytes[i] = header[i]!;
  const writer = new Writer(bytes, header.length);
  writeMessage(writer, message);
  if (writer.position !== bytes.length) throw new RangeError('encodedLength disagrees with encode');
  return bytes;
}

export interface DecodedFrame {
  readonly header: FrameHeader;
  /** Offset of the payload within the frame bytes; the header bytes before it are the AEAD associated data. */
  readonly payloadOffset: number;
}

export function decodeFrameHeader(bytes: Uint8Array): DecodeResult<DecodedFrame> {
  try {
    const reader = new Reader(bytes);
    if (reader.u16() !== FRAME_MAGIC) return { ok: false, reason: 'bad-magic' };
    const version = reader.u8();
    if (version !== PROTOCOL_VERSION) return { ok: false, reason: 'unsupported-version' };
    const flags = reader.u8();
    if ((flags & ~FRAME_FLAG_ENCRYPTED) !== 0) return { ok: false, reason: 'unknown-frame-flags' };
    const clusterName = reader.string(CLUSTER_NAME_BYTES_MAX);
    return { ok: true, value: { header: { clusterName, flags }, payloadOffset: reader.position } };
  } catch (error) {
    if (error instanceof DecodeFailure) return { ok: false, reason: error.reason };
    return { ok: false, reason: 'malformed' };
  }
}

export { utf8Length };
