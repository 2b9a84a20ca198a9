/**
 * The messages grapevine nodes exchange, as typed values. The numeric codes that put them on the wire live
 * only in codec.ts (an append-only table); everything else works with these readable types.
 *
 * One gossip exchange is three datagrams: `syn` (a digest), `syn-ack` (a digest plus what the initiator
 * lacks), `ack` (what the responder lacks). `sync` carries bulk state over a stream: the full view on join,
 * and catch-up or resets that do not fit a datagram. See docs/protocol.md for the invariants.
 */

/** Liveness status of a member. At an equal heartbeat, a later status in this list wins a merge. */
export type MemberStatus = 'alive' | 'suspect' | 'down' | 'left';

export const MEMBER_STATUSES: readonly MemberStatus[] = ['alive', 'suspect', 'down', 'left'];

/** Why a member was suspected or declared down: provenance that operators can read. */
export type VerdictReason = 'phi' | 'refused' | 'left';

export const VERDICT_REASONS: readonly VerdictReason[] = ['phi', 'refused', 'left'];

export interface VerdictNote {
  /** Name of the node that reached the verdict first. */
  readonly accuser: string;
  readonly reason: VerdictReason;
  /** Phi at the moment of the verdict, in hundredths (0 when the reason is not phi). */
  readonly phiHundredths: number;
  /** Milliseconds of silence the accuser had observed. */
  readonly silenceMs: number;
}

/**
 * Everything a node says about one member in explicit form: who it is (name, generation, address), how alive
 * it is (heartbeat, status) and how much of its state the speaker holds (maxVersion).
 */
export interface MemberEntry {
  readonly name: string;
  readonly generation: number;
  readonly address: string;
  readonly heartbeat: number;
  readonly status: MemberStatus;
  readonly maxVersion: number;
  readonly verdict: VerdictNote | null;
}

/**
 * A compact page: heartbeat, status and version of every live member whose key lies in
 * [rangeStart, rangeEnd), listed in key order without names. It is only meaningful to a receiver whose own
 * live members in that range hash to the same `hashA`/`hashB`; otherwise the receiver ignores it and answers
 * with an explicit page.
 *
 * The entries stay as they are on the wire: `count` pairs of varints (heartbeat, then maxVersion * 4 +
 * status index). Builders write them once, the codec copies them, decoders validate and keep a view, and the
 * receiver reads them in place: no per-member arrays on the hot path. `positionalPage` and
 * `positionalEntries` (codec.ts) convert from and to columns.
 */
export interface PositionalPage {
  readonly kind: 'positional';
  readonly rangeStart: number;
  readonly rangeEnd: number;
  readonly hashA: number;
  readonly hashB: number;
  readonly count: number;
  readonly entries: Uint8Array;
}

/** Every member the sender knows in [rangeStart, rangeEnd), with names: used to reconcile differing sets. */
export interface ExplicitPage {
  readonly kind: 'explicit';
  readonly rangeStart: number;
  readonly rangeEnd: number;
  readonly entries: readonly MemberEntry[];
}

export type Page = PositionalPage | ExplicitPage;

/** What a node knows, in a bounded size: itself, recent news, and one page of the key space. */
export interface Digest {
  readonly sender: MemberEntry;
  readonly news: readonly MemberEntry[];
  readonly page: Page | null;
}

/** One key of an owner's state. `value === null` is a tombstone (a delete). */
export interface KeyValue {
  readonly key: string;
  readonly value: string | null;
  readonly version: number;
}

/**
 * State of one owner that the receiver lacks. Entries are in ascending version order and all newer than
 * `fromVersion`; a receiver applies them only if it already holds `fromVersion`, so a cut-short delta leaves
 * a consistent prefix. A `reset` delta replaces the receiver's state of that owner entirely (sent when the
 * receiver is behind the owner's tombstone collection point `gcVersion`).
 */
export interface OwnerDelta {
  readonly member: MemberEntry;
  readonly reset: boolean;
  readonly fromVersion: number;
  readonly gcVersion: number;
  readonly entries: readonly KeyValue[];
}

export interface SynMessage {
  readonly type: 'syn';
  readonly digest: Digest;
}

export interface SynAckMessage {
  readonly type: 'syn-ack';
  readonly digest: Digest;
  readonly deltas: readonly OwnerDelta[];
}

export interface AckMessage {
  readonly type: 'ack';
  readonly deltas: readonly OwnerDelta[];
}

/**
 * A one-way heartbeat a node sends each round to the members that watch it (its successors in key order),
 * so that each member has at least one observer with a direct, regular signal of it.
 */
export interface HeartbeatMessage {
  readonly type: 'heartbeat';
  readonly sender: MemberEntry;
}

/** Bulk state over a stream. `replyWanted` asks the receiver to answer with its own full view (a join). */
export interface SyncMessage {
  readonly type: 'sync';
  readonly sender: MemberEntry;
  readonly replyWanted: boolean;
  readonly members: readonly MemberEntry[];
  readonly deltas: readonly OwnerDelta[];
}

export type Message = SynMessage | SynAckMessage | AckMessage | SyncMessage | HeartbeatMessage;

export type MessageType = Message['type'];
