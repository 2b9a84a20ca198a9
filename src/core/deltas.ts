/**
 * Choosing and packing the state a peer lacks.
 *
 * For every member a peer told us about (generation g, version v), we compare with our own record: an older
 * or unknown generation, or a version below our tombstone collection point, needs a reset (the whole state);
 * a lower version needs the entries after v. Candidates are packed smallest first, so membership
 * introductions and single-key changes are never starved by one owner's bulk state (chitchat#119); an owner
 * that does not fit whole gets the longest prefix that does, in version order, which is still a consistent
 * prefix for the receiver. Resets are all-or-nothing: what does not fit is left over for a stream.
 */
import {
  type KeyValue,
  keyValueLength,
  type MemberEntry,
  type OwnerDelta,
  ownerDeltaHeaderLength,
} from '../wire/index.js';
import type { OwnerState } from './owner-state.js';

export interface DeltaSource {
  memberEntry(slot: number): MemberEntry;
  generationOf(slot: number): number;
  stateOf(slot: number): OwnerState | undefined;
}

export interface DeltaCandidate {
  readonly slot: number;
  readonly reset: boolean;
  readonly fromVersion: number;
  /** Exact encoded size of the complete delta. */
  readonly bytes: number;
}

/**
 * What the peer lacks of member `slot`, given what it reported. `peerGeneration` is -1 when the peer does
 * not know the member at all. Returns null when the peer has everything.
 */
export function planDelta(
  source: DeltaSource,
  slot: number,
  peerGeneration: number,
  peerVersion: number,
): DeltaCandidate | null {
  const generation = source.generationOf(slot);
  if (peerGeneration > generation) return null;
  const state = source.stateOf(slot);
  const maxVersion = state?.maxVersion ?? 0;
  const gcVersion = state?.gcVersion ?? 0;
  const reset = peerGeneration < generation || peerVersion < gcVersion;
  if (!reset && peerVersion >= maxVersion) return null;
  const fromVersion = reset ? 0 : peerVersion;
  const member = source.memberEntry(slot);
  let bytes = 0;
  let count = 0;
  if (state !== undefined) {
    for (const entry of state.entriesAfter(fromVersion)) {
      bytes += keyValueLength(entry);
      count++;
    }
  }
  bytes += ownerDeltaHeaderLength(member, fromVersion, gcVersion, count);
  return { slot, reset, fromVersion, bytes };
}

/**
 * A delta that carries only our entry for member `slot` (its liveness: heartbeat, status, verdict) and no
 * state: for a peer that lacks no keys but holds a status ours supersedes.
 */
export function planLiveness(source: DeltaSource, slot: number): DeltaCandidate {
  const state = source.stateOf(slot);
  const maxVersion = state?.maxVersion ?? 0;
  const member = source.memberEntry(slot);
  return {
    slot,
    reset: false,
    fromVersion: maxVersion,
    bytes: ownerDeltaHeaderLength(member, maxVersion, state?.gcVersion ?? 0, 0),
  };
}

export interface PackedDeltas {
  readonly deltas: OwnerDelta[];
  readonly bytes: number;
  /** Candidates that did not fit (or only partly): send them over a stream if they matter. */
  readonly leftovers: DeltaCandidate[];
}

/** Packs candidates into at most `budgetBytes`, smallest first. */
export function packDeltas(
  source: DeltaSource,
  candidates: DeltaCandidate[],
  budgetBytes: number,
): PackedDeltas {
  // At rest a peer lacks nothing: no sort, and no second array.
  if (candidates.length === 0) return { deltas: [], bytes: 0, leftovers: candidates };
  candidates.sort((a, b) => a.bytes - b.bytes || a.slot - b.slot);
  const deltas: OwnerDelta[] = [];
  const leftovers: DeltaCandidate[] = [];
  let used = 0;
  for (const candidate of candidates) {
    const remaining = budgetBytes - used;
    if (candidate.bytes <= remaining) {
      deltas.push(buildDelta(source, candidate, Number.POSITIVE_INFINITY));
      used += candidate.bytes;
      continue;
    }
    leftovers.push(candidate);
    if (candidate.reset) continue;
    const partial = buildDelta(source, candidate, remaining);
    if (partial.entries.length === 0) continue;
    deltas.push(partial);
    used += partialBytes(partial);
  }
  return { deltas, bytes: used, leftovers };
}

function partialBytes(delta: OwnerDelta): number {
  let bytes = ownerDeltaHeaderLength(delta.member, delta.fromVersion, delta.gcVersion, delta.entries.length);
  for (const entry of delta.entries) bytes += keyValueLength(entry);
  return bytes;
}

/** The delta for one candidate, cut to the longest prefix that fits `budgetBytes` (Infinity: whole). */
export function buildDelta(source: DeltaSource, candidate: DeltaCandidate, budgetBytes: number): OwnerDelta {
  const member = source.memberEntry(candidate.slot);
  const state = source.stateOf(candidate.slot);
  const gcVersion = state?.gcVersion ?? 0;
  const entries: KeyValue[] = [];
  // The count prefix grows with the count; reserving its largest size keeps the cut exact enough.
  let bytes = ownerDeltaHeaderLength(member, candidate.fromVersion, gcVersion, 1 << 20);
  if (state !== undefined) {
    for (const entry of state.entriesAfter(candidate.fromVersion)) {
      const entryBytes = keyValueLength(entry);
      if (bytes + entryBytes > budgetBytes) break;
      bytes += entryBytes;
      entries.push({ key: entry.key, value: entry.value, version: entry.version });
    }
  }
  return { member, reset: candidate.reset, fromVersion: candidate.fromVersion, gcVersion, entries };
}
