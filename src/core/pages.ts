/**
 * Digest pages: bounded summaries of a range of the member key space.
 *
 * A positional page lists (heartbeat, status, maxVersion) for every member in a key range, in key order and
 * without names, plus the XOR of the members' identity hashes. A receiver whose own members in that range
 * hash the same knows the positions line up and merges them; about 3 to 5 bytes per member instead of 25 to
 * 40 with names. When the hashes differ (a member joined, restarted or was reaped on one side only), the
 * receiver answers with an explicit page of the same range, with names, so the two sides reconcile.
 *
 * A page never exceeds the byte budget it is given: it covers the longest prefix of the requested range that
 * fits, and says which range it covers.
 *
 * Positional pages, and the hashes that check them, cover live members only (alive and suspect): a dead
 * member that one node has already reaped and another has not yet, or never knew, then cannot break the
 * positional match of a whole page, and pages stay small at rest. Explicit pages, sent when sets differ,
 * list dead members too, so a node that missed a down verdict learns it there (a dead member nobody knew is
 * not learned from them; see node.ts).
 */
import {
  type ExplicitPage,
  explicitPageHeaderLength,
  MEMBER_STATUSES,
  type MemberEntry,
  memberEntryLength,
  type PositionalPage,
  positionalPageHeaderLength,
  slabOffset,
  slabWithRoom,
  takeBytes,
  varintLength,
} from '../wire/index.js';
import { type MemberTable, STATUS_SUSPECT } from './member-table.js';

export const KEY_SPACE_END = 2 ** 32;

/**
 * Writes an unsigned LEB128 varint at `position` and returns the position after it. The page builder's own
 * copy of the codec's encoding (same bytes, see wire/writer.ts): it runs for every member of every page, and
 * bit operations on values below 2^28 are several times cheaper than the general path.
 */
function writeVarint(bytes: Uint8Array, position: number, value: number): number {
  let at = position;
  let rest = value;
  if (rest < 0x10000000) {
    while (rest >= 0x80) {
      bytes[at++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    bytes[at++] = rest;
    return at;
  }
  while (rest >= 0x80) {
    bytes[at++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  bytes[at++] = rest;
  return at;
}

/** Most bytes one positional entry takes: a heartbeat below 2^32, then maxVersion * 4 + status. */
const ENTRY_BYTES_MAX = varintLength(2 ** 32 - 1) + varintLength(Number.MAX_SAFE_INTEGER);

let scratchSlots = new Int32Array(256);
let scratchEnds = new Int32Array(256);

/**
 * Reusable arrays for the page builder (slots included, the byte offset after each): valid until the next
 * call, which is fine because builders are synchronous.
 */
function scratch(slots: number): { slots: Int32Array; ends: Int32Array } {
  if (scratchSlots.length < slots) {
    scratchSlots = new Int32Array(Math.max(slots, scratchSlots.length * 2));
    scratchEnds = new Int32Array(scratchSlots.length);
  }
  return { slots: scratchSlots, ends: scratchEnds };
}

/** Identity hash of the members with key in [rangeStart, rangeEnd), and their count. */
export function rangeHash(
  table: MemberTable,
  rangeStart: number,
  rangeEnd: number,
): { hashA: number; hashB: number; count: number } {
  let hashA = 0;
  let hashB = 0;
  let count = 0;
  const { order, orderKeys, statuses, hashA: wordsA, hashB: wordsB } = table;
  const total = table.count;
  for (let position = table.lowerBound(rangeStart); position < total; position++) {
    if (orderKeys[position]! >= rangeEnd) break;
    const slot = order[position]!;
    if (statuses[slot]! > STATUS_SUSPECT) continue;
    hashA ^= wordsA[slot]!;
    hashB ^= wordsB[slot]!;
    count++;
  }
  return { hashA: hashA >>> 0, hashB: hashB >>> 0, count };
}

/**
 * When a peer's positional page did not match ours, the key of the one member that explains the
 * difference, if there is one: the XOR of the two hashes is then that member's identity hash, and the
 * counts differ by one. It is live here and not in the peer's page (the peer has it down, or never heard of
 * it), or live there and down here. Returns -1 when no single member of ours explains it (several differ,
 * or the peer knows a member we do not). The reply's explicit page then starts at this key, so the one
 * stale entry is reconciled in this exchange instead of by luck in a later one.
 */
export function singleDifferenceKey(
  table: MemberTable,
  rangeStart: number,
  rangeEnd: number,
  peer: { readonly hashA: number; readonly hashB: number; readonly count: number },
  local: { readonly hashA: number; readonly hashB: number; readonly count: number },
): number {
  const countDifference = local.count - peer.count;
  if (countDifference !== 1 && countDifference !== -1) return -1;
  const diffA = (peer.hashA ^ local.hashA) >>> 0;
  const diffB = (peer.hashB ^ local.hashB) >>> 0;
  const { order, orderKeys, statuses, hashA: wordsA, hashB: wordsB } = table;
  const wantLive = countDifference === 1;
  for (let position = table.lowerBound(rangeStart); position < table.count; position++) {
    const key = orderKeys[position]!;
    if (key >= rangeEnd) break;
    const slot = order[position]!;
    if (statuses[slot]! <= STATUS_SUSPECT !== wantLive) continue;
    if (wordsA[slot] === diffA && wordsB[slot] === diffB) return key;
  }
  return -1;
}

/** The identity hash of a range as rangeHash gives it, when a caller knows it already. */
export interface KnownRangeHash {
  readonly rangeEnd: number;
  readonly hashA: number;
  readonly hashB: number;
  readonly count: number;
}

/**
 * The longest prefix of [rangeStart, rangeEnd) whose positional page fits in `budgetBytes`, or null if not
 * even an empty page fits. The covered range always ends on a key boundary, so members sharing a key are
 * never split across pages. `known`, if given, is the hash of [rangeStart, known.rangeEnd) as the table is
 * now: a page that covers exactly that range takes it instead of reading the members' hash columns again.
 */
export function buildPositionalPage(
  table: MemberTable,
  rangeStart: number,
  rangeEnd: number,
  budgetBytes: number,
  entriesMax = Number.POSITIVE_INFINITY,
  known: KnownRangeHash | null = null,
): PositionalPage | null {
  const first = table.lowerBound(rangeStart);
  // Keys by position (orderKeys, which lowerBound has just searched) rather than by slot.
  const { order, orderKeys, heartbeats, maxVersions, statuses } = table;
  const { hashA: wordsA, hashB: wordsB } = table;
  const total = table.count;
  // Header size depends on the count and the end, both unknown until the end is chosen; reserve the maximum.
  const headerMax = positionalPageHeaderLength(rangeStart, KEY_SPACE_END, total);
  if (headerMax > budgetBytes) return null;
  // Every entry takes at least two bytes, which bounds how many can fit.
  const capacity = Math.min(total - first, (budgetBytes - headerMax) >> 1, entriesMax);
  // Entries are written as varints straight into the codec's byte slab (see wire/byte-slab.ts), which then
  // hands out exactly the bytes kept; ends[] are positions in the slab.
  const { slots: included, ends } = scratch(capacity);
  const output = slabWithRoom(budgetBytes);
  const base = slabOffset();
  let written = base;
  let count = 0;
  let end = rangeEnd;
  // Entries before this count fit whatever their size (at most 5 + 8 bytes each), so only later ones need
  // the exact check: with a page of 64 members in a datagram, that is none of them.
  const surelyFits = Math.min(capacity, Math.floor((budgetBytes - headerMax) / ENTRY_BYTES_MAX));
  for (let position = first; position < total; position++) {
    const key = orderKeys[position]!;
    if (key >= rangeEnd) break;
    const slot = order[position]!;
    const status = statuses[slot]!;
    if (status > STATUS_SUSPECT) continue;
    const heartbeat = heartbeats[slot]!;
    const packed = maxVersions[slot]! * 4 + status;
    if (
      count >= surelyFits &&
      (count === capacity ||
        headerMax + (written - base) + varintLength(heartbeat) + varintLength(packed) > budgetBytes)
    ) {
      end = key;
      // Back off to the start of this key's group so that a key is never split.
      while (count > 0 && table.keys[included[count - 1]!] === key) count--;
      const kept = count === 0 ? base : ends[count - 1]!;
      // The slab's unclaimed bytes stay zero for whoever takes them next.
      output.fill(0, kept, written);
      written = kept;
      break;
    }
    written = writeVarint(output, writeVarint(output, written, heartbeat), packed);
    included[count] = slot;
    ends[count] = written;
    count++;
  }
  if (end <= rangeStart) {
    output.fill(0, base, written);
    return null;
  }
  // The identity hash in a second pass over the slots kept, so that no loop reads more than five columns:
  // each column is a separate stream of cache misses, and a CPU's prefetchers follow only so many at once.
  let hashA = 0;
  let hashB = 0;
  if (known !== null && known.rangeEnd === end && known.count === count) {
    hashA = known.hashA;
    hashB = known.hashB;
  } else {
    for (let i = 0; i < count; i++) {
      const slot = included[i]!;
      hashA ^= wordsA[slot]!;
      hashB ^= wordsB[slot]!;
    }
  }
  return {
    kind: 'positional',
    rangeStart,
    rangeEnd: end,
    hashA: hashA >>> 0,
    hashB: hashB >>> 0,
    count,
    entries: takeBytes(written - base),
  };
}

/** The longest prefix of [rangeStart, rangeEnd) whose explicit page fits in `budgetBytes`, or null. */
export function buildExplicitPage(
  table: MemberTable,
  rangeStart: number,
  rangeEnd: number,
  budgetBytes: number,
  entryOf: (slot: number) => MemberEntry,
): ExplicitPage | null {
  const headerMax = explicitPageHeaderLength(rangeStart, KEY_SPACE_END, table.count);
  if (headerMax > budgetBytes) return null;
  const { order, keys } = table;
  const entries: MemberEntry[] = [];
  const slots: number[] = [];
  let bytes = headerMax;
  let end = rangeEnd;
  for (let position = table.lowerBound(rangeStart); position < table.count; position++) {
    const slot = order[position]!;
    const key = keys[slot]!;
    if (key >= rangeEnd) break;
    const entry = entryOf(slot);
    const entryBytes = memberEntryLength(entry);
    if (bytes + entryBytes > budgetBytes) {
      end = key;
      while (slots.length > 0 && keys[slots[slots.length - 1]!] === key) {
        slots.pop();
        entries.pop();
      }
      break;
    }
    entries.push(entry);
    slots.push(slot);
    bytes += entryBytes;
  }
  if (end <= rangeStart) return null;
  return { kind: 'explicit', rangeStart, rangeEnd: end, entries };
}

/**
 * Where an explicit page that holds about `window` entries should start so that every member of
 * [rangeStart, rangeEnd) has a fair chance to be on it: the key of a random live member, or rangeStart with
 * probability about (window / 2) / (members + window / 2). A start drawn among the members alone would
 * almost never cover the first ones of the range, and a stale entry there could outlive many exchanges. Eight random
 * picks that find only dead members also give rangeStart: a start anywhere is correct, only coverage varies.
 */
export function randomPageStart(
  table: MemberTable,
  rangeStart: number,
  rangeEnd: number,
  window: number,
  pick: (bound: number) => number,
): number {
  const first = table.lowerBound(rangeStart);
  const last = table.lowerBound(rangeEnd);
  if (last <= first) return rangeStart;
  // Starts drawn "before" the range (as if it wrapped) begin at rangeStart; half a window of them brings
  // the first members' coverage to at least half the others' without over-covering those that follow.
  const lead = Math.max(0, Math.floor(window / 2));
  for (let tries = 0; tries < 8; tries++) {
    const index = pick(last - first + lead) - lead;
    if (index <= 0) return rangeStart;
    const slot = table.order[first + index]!;
    if (table.statuses[slot]! <= STATUS_SUSPECT) return table.keys[slot]!;
  }
  return rangeStart;
}

export function statusName(index: number) {
  return MEMBER_STATUSES[index]!;
}
