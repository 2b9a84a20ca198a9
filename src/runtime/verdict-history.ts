/**
 * The verdict history: a bounded record of every status change a node observed and why (who accused whom,
 * when, with what phi and evidence; what refuted it), for operators (docs/protocol.md, F6). It is recorded
 * before any listener sees the event and never holds more than its capacity.
 */
import type { ClusterEvent, MemberView } from '../core/index.js';
import type { MemberStatus, VerdictNote, VerdictReason } from '../wire/index.js';

export const DEFAULT_VERDICT_HISTORY_SIZE = 512;
export const VERDICT_HISTORY_SIZE_MAX = 100_000;

/** Who reached a verdict, why, with what phi and after how much silence (docs/protocol.md, F6). */
export interface VerdictProvenance {
  readonly accuser: string;
  readonly reason: VerdictReason;
  /** Phi when the verdict was reached (0 when the reason is not phi). */
  readonly phi: number;
  /** Milliseconds of silence the accuser had observed. */
  readonly silenceMs: number;
}

/** What a return to alive beat: the verdict, the heartbeat it was made at, and the newer heartbeat. */
export interface Refutation {
  /** The status that was refuted (suspect, down or left). */
  readonly status: MemberStatus;
  /** Heartbeat the verdict was made at (any higher heartbeat refutes it, L1); null if this node missed it. */
  readonly verdictHeartbeat: number | null;
  /** The heartbeat that beat it. */
  readonly heartbeat: number;
  /** The refuted verdict's provenance, when this node knew it. */
  readonly verdict: VerdictProvenance | null;
}

/** One status change this node observed, with why it happened. */
export interface VerdictRecord {
  /** 1 for the first record, one more for each next: a gap between two reads means records were evicted. */
  readonly sequence: number;
  /** Time on this node's monotonic clock (the clock of events' `atMs`), in milliseconds. */
  readonly atMs: number;
  /** Wall-clock time, ISO 8601 UTC. */
  readonly at: string;
  readonly member: string;
  readonly address: string;
  readonly generation: number;
  /**
   * Status before the change; null when the member was first heard of already in this status. After a
   * restart, the status of the generation it replaced.
   */
  readonly from: MemberStatus | null;
  readonly to: MemberStatus;
  /** The member's heartbeat at the change: a verdict holds at this heartbeat. */
  readonly heartbeat: number;
  /** For suspect, down and left: the verdict's provenance (null if no one said). */
  readonly verdict: VerdictProvenance | null;
  /** For a return to alive from suspect, down or left: what was refuted, and by which heartbeat. */
  readonly refuted: Refutation | null;
  /** For a restart: the generation the member's new incarnation replaced. */
  readonly previousGeneration: number | null;
}

export interface VerdictQuery {
  /** Only records about this member. */
  readonly member?: string;
  /** Only the most recent `limit` records (after the member filter). */
  readonly limit?: number;
}

interface TrackedStatus {
  readonly generation: number;
  readonly status: MemberStatus;
  /** Heartbeat at which the member entered this status. */
  readonly heartbeat: number;
  readonly verdict: VerdictProvenance | null;
}

export function provenanceOf(note: VerdictNote | null): VerdictProvenance | null {
  if (note === null) return null;
  return {
    accuser: note.accuser,
    reason: note.reason,
    phi: note.phiHundredths / 100,
    silenceMs: note.silenceMs,
  };
}

/** The details that differ between kinds of record. */
interface RecordDetails {
  readonly from: MemberStatus | null;
  readonly refuted?: Refutation | null;
  readonly previousGeneration?: number | null;
}

/**
 * The status changes a node observed, newest last, in a ring of `capacity` records (a new record overwrites
 * the oldest), plus the last status of every known member, which the events about suspect, down and left
 * do not carry. Joins in good health and reaps are not recorded: they are not verdicts, and the thousands
 * of joins of a full sync would otherwise push every verdict out of the ring.
 */
export class VerdictHistory {
  readonly capacity: number;
  readonly #records: (VerdictRecord | undefined)[];
  /** Records ever written; the next record's sequence is this plus one. */
  #written = 0;
  /** One entry per known member: bounded like the member table, and cleared when a member is reaped. */
  readonly #tracked = new Map<string, TrackedStatus>();
  readonly #trackedMax: number;
  readonly #wallClockOf: (atMs: number) => number;
  readonly #byEvent = new WeakMap<ClusterEvent, VerdictRecord>();
  readonly #changesByStatus: Record<MemberStatus, number> = { alive: 0, suspect: 0, down: 0, left: 0 };

  constructor(init: { capacity: number; trackedMax: number; wallClockOf: (atMs: number) => number }) {
    assertCount(init.capacity, 'capacity');
    assertCount(init.trackedMax, 'trackedMax');
    this.capacity = init.capacity;
    this.#records = new Array(init.capacity);
    this.#trackedMax = init.trackedMax;
    this.#wallClockOf = init.wallClockOf;
  }

  /** Starts tracking members known before the first event (this node itself). */
  seed(members: readonly MemberView[]): void {
    for (const member of members) this.#track(member);
  }

  /** Records the status change an event reports, if it reports one. */
  observe(event: ClusterEvent): VerdictRecord | undefined {
    if (event.type === 'key-updated') return undefined;
    const member = event.member;
    if (event.type === 'member-reaped') {
      this.#tracked.delete(member.name);
      return undefined;
    }
    const before = this.#tracked.get(member.name);
    this.#track(member);
    const sameGeneration = before !== undefined && before.generation === member.generation;
    switch (event.type) {
      case 'member-joined':
        // A member first heard of while suspect arrives with someone's verdict: that one is worth keeping.
        return member.status === 'alive' ? undefined : this.#append(event, { from: null });
      case 'member-restarted':
        return this.#append(event, {
          from: before?.status ?? null,
          previousGeneration: event.previousGeneration,
        });
      case 'member-alive':
        return this.#append(event, {
          from: event.previousStatus,
          refuted: refutationOf(event.previousStatus, member, sameGeneration ? before : undefined),
        });
      default:
        return this.#append(event, { from: sameGeneration ? before.status : null });
    }
  }

  /** The record an event made, if it made one (for logs and event streams that show the change). */
  recordOf(event: ClusterEvent): VerdictRecord | undefined {
    return this.#byEvent.get(event);
  }

  /** Records oldest first: those about `member` if given, the last `limit` of them if given. */
  query(query: VerdictQuery = {}): VerdictRecord[] {
    const limit = query.limit ?? this.capacity;
    const stored = Math.min(this.#written, this.capacity);
    const found: VerdictRecord[] = [];
    // Walk from the newest back, so a small limit reads only what it returns.
    for (let age = 0; age < stored && found.length < limit; age++) {
      const record = this.#records[(this.#written - 1 - age) % this.capacity]!;
      if (query.member === undefined || record.member === query.member) found.push(record);
    }
    return found.reverse();
  }

  /** Status changes recorded since the start, by the status entered (evicted records included). */
  get changesByStatus(): Readonly<Record<MemberStatus, number>> {
    return this.#changesByStatus;
  }

  get size(): number {
    return Math.min(this.#written, this.capacity);
  }

  #track(member: MemberView): void {
    if (!this.#tracked.has(member.name) && this.#tracked.size >= this.#trackedMax) {
      // Cannot happen while the member table is bounded by the same number; if it does, forget the oldest.
      const oldest = this.#tracked.keys().next().value;
      if (oldest !== undefined) this.#tracked.delete(oldest);
    }
    this.#tracked.set(member.name, {
      generation: member.generation,
      status: member.status,
      heartbeat: member.heartbeat,
      verdict: provenanceOf(member.verdict),
    });
  }

  #append(event: Extract<ClusterEvent, { member: MemberView }>, details: RecordDetails): VerdictRecord {
    const member = event.member;
    const record: VerdictRecord = {
      sequence: this.#written + 1,
      atMs: event.atMs,
      at: new Date(this.#wallClockOf(event.atMs)).toISOString(),
      member: member.name,
      address: member.address,
      generation: member.generation,
      from: details.from,
      to: member.status,
      heartbeat: member.heartbeat,
      verdict: member.status === 'alive' ? null : provenanceOf(member.verdict),
      refuted: details.refuted ?? null,
      previousGeneration: details.previousGeneration ?? null,
    };
    this.#records[this.#written % this.capacity] = record;
    this.#written++;
    this.#changesByStatus[member.status]++;
    this.#byEvent.set(event, record);
    return record;
  }
}

/** What a return to alive refuted; null when the member was not under a verdict. */
function refutationOf(
  previous: MemberStatus,
  member: MemberView,
  before: TrackedStatus | undefined,
): Refutation | null {
  if (previous === 'alive') return null;
  const known = before !== undefined && before.status === previous;
  return {
    status: previous,
    verdictHeartbeat: known ? before.heartbeat : null,
    heartbeat: member.heartbeat,
    verdict: known ? before.verdict : null,
  };
}

function assertCount(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
}
