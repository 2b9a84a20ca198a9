/**
 * The member list of one node, stored column-wise.
 *
 * Every node keeps a record for every member, so a simulated cluster of 10,000 nodes holds 10^8 records;
 * typed-array columns keep one record under 100 bytes and out of the garbage-collected heap. Records live in
 * stable slots (a freed slot is reused); `order` lists the slots sorted by (key, name), where key =
 * memberKey(name). Digest pages are ranges of that order, which is why both peers of an exchange must sort
 * members the same way.
 *
 * Invariants: `order[0..count)` is sorted by (key, name) and holds each live slot exactly once; a name
 * appears at most once.
 */
import { assert } from './assert.js';
import { memberHashes, writeMemberHashes } from './hash.js';
import { StringPool } from './string-pool.js';

export const STATUS_ALIVE = 0;
export const STATUS_SUSPECT = 1;
export const STATUS_DOWN = 2;
export const STATUS_LEFT = 3;

export interface MemberIdentity {
  readonly name: string;
  readonly generation: number;
  readonly address: string;
  readonly heartbeat: number;
}

export interface NewMember extends MemberIdentity {
  readonly status: number;
}

export class MemberTable {
  #capacity: number;
  count = 0;
  /** Slots sorted by (key, name). */
  order: Int32Array;
  /**
   * keys[order[i]] for every position i: binary searches read this one contiguous array instead of jumping
   * through two (at 1,000 nodes of 1,000 members each, those cache misses were the cost of a lookup).
   */
  orderKeys: Uint32Array;
  #free: number[] = [];
  #slotsUsed = 0;
  /**
   * The slot plus one of each name id in `strings` that names a member here, or 0 (ids are small and
   * dense, and reused once released, so this stays about as long as the pool). Finding the member a message
   * is about is then one read: a binary search of `orderKeys` took a step per halving of the table, each a
   * likely cache miss in a simulated cluster, where a thousand tables take turns in the cache. Two bytes an
   * id until a slot passes 65,534: a simulated cluster of 10,000 nodes shares one pool of 20,000 names and
   * addresses, and holds 10,000 of these.
   */
  #slotById: Uint16Array | Int32Array = new Uint16Array(16);

  readonly strings: StringPool;
  /** Name and address of each slot as ids in `strings`; -1 marks a free slot. */
  nameIds: Int32Array;
  addressIds: Int32Array;
  keys: Uint32Array;
  generations: Float64Array;
  /** Heartbeats below 2^32: at one round per 10 ms that is 497 days of one generation. */
  heartbeats: Uint32Array;
  statuses: Uint8Array;
  maxVersions: Float64Array;
  hashA: Uint32Array;
  hashB: Uint32Array;
  /** Local time the heartbeat last increased (failure detector input). */
  lastArrivalMs: Float64Array;
  /**
   * Inter-arrival statistics of a member this node watches (node.ts pools those of every other member, so
   * for them these stay unused).
   */
  meanIntervalMs: Float32Array;
  varianceIntervalMs2: Float32Array;
  /** Inter-arrival samples folded into the statistics so far (saturates at 255); 0 means the prior applies. */
  sampleCounts: Uint8Array;
  /** Local time at which the next failure-detector threshold is crossed; Infinity when not monitored. */
  deadlineMs: Float64Array;
  /** Local time of the last status change (used for reaping and suspicion timing). */
  statusChangedAtMs: Float64Array;

  constructor(strings: StringPool = new StringPool(), initialCapacity = 16) {
    this.strings = strings;
    this.#capacity = Math.max(4, initialCapacity);
    const c = this.#capacity;
    this.order = new Int32Array(c);
    this.orderKeys = new Uint32Array(c);
    this.nameIds = new Int32Array(c).fill(-1);
    this.addressIds = new Int32Array(c);
    this.keys = new Uint32Array(c);
    this.generations = new Float64Array(c);
    this.heartbeats = new Uint32Array(c);
    this.statuses = new Uint8Array(c);
    this.maxVersions = new Float64Array(c);
    this.hashA = new Uint32Array(c);
    this.hashB = new Uint32Array(c);
    this.lastArrivalMs = new Float64Array(c);
    this.meanIntervalMs = new Float32Array(c);
    this.varianceIntervalMs2 = new Float32Array(c);
    this.sampleCounts = new Uint8Array(c);
    this.deadlineMs = new Float64Array(c);
    this.statusChangedAtMs = new Float64Array(c);
  }

  /**
   * Makes room for at least `capacity` members without further reallocation: exactly that many when
   * `exact` (a full sync knows the final size; at 10,000 members per node, doubling would waste gigabytes in
   * a simulated cluster), otherwise by doubling.
   */
  reserve(capacity: number, exact = false): void {
    if (capacity <= this.#capacity) return;
    let next = this.#capacity;
    if (exact) next = capacity;
    else while (next < capacity) next *= 2;
    this.#capacity = next;
    this.order = grow(this.order, next);
    this.orderKeys = grow(this.orderKeys, next);
    this.nameIds = grow(this.nameIds, next);
    this.nameIds.fill(-1, this.#slotsUsed);
    this.addressIds = grow(this.addressIds, next);
    this.keys = grow(this.keys, next);
    this.generations = grow(this.generations, next);
    this.heartbeats = grow(this.heartbeats, next);
    this.statuses = grow(this.statuses, next);
    this.maxVersions = grow(this.maxVersions, next);
    this.hashA = grow(this.hashA, next);
    this.hashB = grow(this.hashB, next);
    this.lastArrivalMs = grow(this.lastArrivalMs, next);
    this.meanIntervalMs = grow(this.meanIntervalMs, next);
    this.varianceIntervalMs2 = grow(this.varianceIntervalMs2, next);
    this.sampleCounts = grow(this.sampleCounts, next);
    this.deadlineMs = grow(this.deadlineMs, next);
    this.statusChangedAtMs = grow(this.statusChangedAtMs, next);
  }

  /** First position in `order` whose key is >= `key`. */
  lowerBound(key: number): number {
    let low = 0;
    let high = this.count;
    const orderKeys = this.orderKeys;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (orderKeys[middle]! < key) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Position in `order` where (key, name) is or would be inserted. */
  #position(key: number, name: string): number {
    let position = this.lowerBound(key);
    while (position < this.count) {
      const slot = this.order[position]!;
      if (this.keys[slot] !== key || this.name(slot) >= name) break;
      position++;
    }
    return position;
  }

  /** Position of a slot in `order`. */
  positionOf(slot: number): number {
    assert(this.isUsed(slot), 'positionOf: empty slot');
    const name = this.name(slot);
    const position = this.#position(this.keys[slot]!, name);
    assert(this.order[position] === slot, 'positionOf: order out of sync');
    return position;
  }

  /** Slot of the member called `name`, or -1. */
  find(name: string): number {
    const id = this.strings.idOf(name);
    if (id === undefined || id >= this.#slotById.length) return -1;
    return this.#slotById[id]! - 1;
  }

  /**
   * Points the slot's name id at it, unless another slot that holds the same name already has it: in
   * `addMany`, a newcomer whose name the table holds is filled in before the merge rejects it.
   */
  #link(slot: number): void {
    const id = this.nameIds[slot]!;
    const wide = slot + 1 > 0xffff && this.#slotById instanceof Uint16Array;
    if (id >= this.#slotById.length || wide) {
      const length = Math.max(this.#slotById.length, id + 1 + (id >> 2));
      const next =
        wide || this.#slotById instanceof Int32Array ? new Int32Array(length) : new Uint16Array(length);
      next.set(this.#slotById);
      this.#slotById = next;
    }
    const current = this.#slotById[id]! - 1;
    if (current < 0 || current === slot || this.nameIds[current] !== id) this.#slotById[id] = slot + 1;
  }

  name(slot: number): string {
    return this.strings.value(this.nameIds[slot]!);
  }

  address(slot: number): string {
    return this.strings.value(this.addressIds[slot]!);
  }

  #allocateSlot(): number {
    const reused = this.#free.pop();
    if (reused !== undefined) return reused;
    this.reserve(this.#slotsUsed + 1);
    return this.#slotsUsed++;
  }

  #fill(slot: number, member: NewMember, nowMs: number): void {
    const hashes = memberHashes(member.name, member.generation);
    this.#fillIdentity(slot, member, member.status, nowMs, this.strings.acquire(member.name));
    this.keys[slot] = hashes.key;
    this.hashA[slot] = hashes.hashA;
    this.hashB[slot] = hashes.hashB;
  }

  /** Fills a slot's identity; `nameId` is a reference to the name the caller already holds and hands over. */
  #fillIdentity(slot: number, member: MemberIdentity, status: number, nowMs: number, nameId: number): void {
    this.#releaseStrings(slot);
    this.nameIds[slot] = nameId;
    this.#link(slot);
    this.addressIds[slot] = this.strings.acquire(member.address);
    this.generations[slot] = member.generation;
    this.heartbeats[slot] = member.heartbeat;
    this.statuses[slot] = status;
    this.maxVersions[slot] = 0;
    this.lastArrivalMs[slot] = nowMs;
    this.meanIntervalMs[slot] = 0;
    this.varianceIntervalMs2[slot] = 0;
    this.sampleCounts[slot] = 0;
    this.deadlineMs[slot] = Number.POSITIVE_INFINITY;
    this.statusChangedAtMs[slot] = nowMs;
  }

  /** Adds a member that must not be present yet; returns its slot. */
  add(member: NewMember, nowMs: number): number {
    const slot = this.#allocateSlot();
    this.#fill(slot, member, nowMs);
    const position = this.#position(this.keys[slot]!, member.name);
    assert(
      position >= this.count || this.nameIds[this.order[position]!] !== this.nameIds[slot],
      `member ${member.name} added twice`,
    );
    this.order.copyWithin(position + 1, position, this.count);
    this.order[position] = slot;
    this.orderKeys.copyWithin(position + 1, position, this.count);
    this.orderKeys[position] = this.keys[slot]!;
    this.count++;
    return slot;
  }

  /**
   * Adds many members at once (a full sync): sorts the newcomers once and merges them into the order in
   * one pass, instead of shifting the order per insert. Returns each member's new slot in input order, or
   * -1 for a member whose name the table already holds or that repeats an earlier one in the batch (the
   * caller merges those as updates); a batch of peer data may contain anything.
   */
  addMany(members: readonly MemberIdentity[], statuses: ArrayLike<number>, nowMs: number): number[] {
    this.reserve(this.#slotsUsed + members.length, true);
    // Sort first, then take slots in key order: the columns are then read sequentially when a page walks
    // the order, which at 10,000 members is the difference between cache hits and a miss per column.
    const keys = new Uint32Array(members.length);
    const wordsA = new Uint32Array(members.length);
    const wordsB = new Uint32Array(members.length);
    const nameIds = new Int32Array(members.length);
    for (let i = 0; i < members.length; i++) {
      const member = members[i]!;
      // Interning first lets the pool's cached hash state replace a pass over the name.
      nameIds[i] = this.strings.acquire(member.name);
      writeMemberHashes(this.strings.hashState(nameIds[i]!), member.generation, i, keys, wordsA, wordsB);
    }
    const byKey = sortedIndexes(keys, (a, b) => compareNames(members[a]!.name, members[b]!.name));
    const slots: number[] = new Array(members.length);
    const fresh = new Int32Array(members.length);
    for (let i = 0; i < byKey.length; i++) {
      const index = byKey[i]!;
      const slot = this.#allocateSlot();
      this.#fillIdentity(slot, members[index]!, statuses[index]!, nowMs, nameIds[index]!);
      this.keys[slot] = keys[index]!;
      this.hashA[slot] = wordsA[index]!;
      this.hashB[slot] = wordsB[index]!;
      slots[index] = slot;
      fresh[i] = slot;
    }
    const merged = new Int32Array(this.order.length);
    const rejected = new Set<number>();
    let a = 0;
    let b = 0;
    let out = 0;
    while (a < this.count || b < fresh.length) {
      if (b >= fresh.length) {
        merged[out++] = this.order[a++]!;
        continue;
      }
      const candidate = fresh[b++]!;
      while (a < this.count && this.compareSlots(this.order[a]!, candidate) < 0)
        merged[out++] = this.order[a++]!;
      const last = out > 0 ? merged[out - 1]! : -1;
      const existing = a < this.count && this.compareSlots(this.order[a]!, candidate) === 0;
      if (existing || (last >= 0 && this.compareSlots(last, candidate) === 0)) {
        rejected.add(candidate);
        continue;
      }
      merged[out++] = candidate;
    }
    this.order = merged;
    this.count = out;
    const orderKeys = new Uint32Array(merged.length);
    for (let position = 0; position < out; position++) orderKeys[position] = this.keys[merged[position]!]!;
    this.orderKeys = orderKeys;
    for (const slot of rejected) {
      this.#releaseStrings(slot);
      this.#free.push(slot);
    }
    return rejected.size === 0 ? slots : slots.map((slot) => (rejected.has(slot) ? -1 : slot));
  }

  compareSlots(a: number, b: number): number {
    const keyA = this.keys[a]!;
    const keyB = this.keys[b]!;
    if (keyA !== keyB) return keyA < keyB ? -1 : 1;
    if (this.nameIds[a] === this.nameIds[b]) return 0;
    const nameA = this.name(a);
    const nameB = this.name(b);
    return nameA < nameB ? -1 : nameA > nameB ? 1 : 0;
  }

  /** Replaces the identity of an existing member with a newer generation (a restart). */
  replaceGeneration(slot: number, member: NewMember, nowMs: number): void {
    assert(this.name(slot) === member.name, 'replaceGeneration keeps the name');
    this.#fill(slot, member, nowMs);
  }

  remove(slot: number): void {
    assert(this.isUsed(slot), 'remove: empty slot');
    const position = this.#position(this.keys[slot]!, this.name(slot));
    assert(this.order[position] === slot, 'remove: order out of sync');
    this.order.copyWithin(position, position + 1, this.count);
    this.orderKeys.copyWithin(position, position + 1, this.count);
    this.count--;
    this.#releaseStrings(slot);
    this.deadlineMs[slot] = Number.POSITIVE_INFINITY;
    this.#free.push(slot);
  }

  isUsed(slot: number): boolean {
    return this.nameIds[slot]! >= 0;
  }

  /** Drops the slot's references to its name and address (both are set together; the name marks use). */
  #releaseStrings(slot: number): void {
    const nameId = this.nameIds[slot]!;
    if (nameId < 0) return;
    if (this.#slotById[nameId] === slot + 1) this.#slotById[nameId] = 0;
    this.strings.release(nameId);
    this.strings.release(this.addressIds[slot]!);
    this.nameIds[slot] = -1;
    this.addressIds[slot] = -1;
  }
}

/**
 * Indexes 0..keys.length-1 sorted by key (a numeric sort on key and index packed into one double), ties
 * broken by `tie` (name order; only a 32-bit key collision needs it).
 */
function sortedIndexes(keys: Uint32Array, tie: (a: number, b: number) => number): Int32Array {
  assert(keys.length < 2 ** 21, 'batch too large');
  // Full syncs arrive in key order (a node sends its own order): check for that before sorting.
  let sortedAlready = true;
  for (let i = 1; i < keys.length && sortedAlready; i++) {
    sortedAlready = keys[i - 1]! < keys[i]! || (keys[i - 1] === keys[i] && tie(i - 1, i) < 0);
  }
  if (sortedAlready) {
    const identity = new Int32Array(keys.length);
    for (let i = 0; i < keys.length; i++) identity[i] = i;
    return identity;
  }
  const packed = new Float64Array(keys.length);
  for (let i = 0; i < keys.length; i++) packed[i] = keys[i]! * 2 ** 21 + i;
  packed.sort();
  const sorted = new Int32Array(keys.length);
  for (let i = 0; i < keys.length; i++) sorted[i] = packed[i]! % 2 ** 21;
  for (let i = 1; i < sorted.length; i++) {
    for (
      let j = i;
      j > 0 && keys[sorted[j - 1]!] === keys[sorted[j]!] && tie(sorted[j - 1]!, sorted[j]!) > 0;
      j--
    ) {
      const swap = sorted[j]!;
      sorted[j] = sorted[j - 1]!;
      sorted[j - 1] = swap;
    }
  }
  return sorted;
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function grow<T extends Int32Array | Uint32Array | Float64Array | Float32Array | Uint8Array>(
  array: T,
  capacity: number,
): T {
  const next = new (array.constructor as new (length: number) => T)(capacity);
  next.set(array);
  return next;
}
