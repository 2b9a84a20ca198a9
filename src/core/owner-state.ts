/**
 * The versioned key-value state of one owner, as held by any node.
 *
 * Invariants:
 * - versions are per owner and only grow: `maxVersion` never decreases, except through `reset`, which only
 *   happens to adopt a strictly newer view (a peer past our tombstone collection point);
 * - `maxVersion` summarises the state: this node holds every entry whose current version is <= maxVersion
 *   (scuttlebutt's invariant), because entries are only ever applied in ascending version order without gaps;
 * - a delete is a tombstone (value null) with its own version, collected after a grace period; collecting
 *   raises `gcVersion`, and a peer whose version is below it can only be repaired by a reset.
 */
import { assert } from './assert.js';

export interface StoredEntry {
  readonly key: string;
  readonly value: string | null;
  readonly version: number;
  /** Local time the entry was written here; for tombstones, the start of the grace period. */
  readonly writtenAtMs: number;
}

export class OwnerState {
  #entries = new Map<string, StoredEntry>();
  /** Entries in ascending version order; may hold superseded ones, skipped on read and compacted lazily. */
  #log: StoredEntry[] = [];
  #superseded = 0;
  #tombstones = 0;
  maxVersion = 0;
  gcVersion = 0;

  get size(): number {
    return this.#entries.size;
  }

  get tombstoneCount(): number {
    return this.#tombstones;
  }

  get(key: string): StoredEntry | undefined {
    return this.#entries.get(key);
  }

  entries(): IterableIterator<StoredEntry> {
    return this.#entries.values();
  }

  /**
   * Applies one entry if it is newer than what this state holds. Entries must arrive in ascending version
   * order; returns whether it changed the state.
   */
  apply(key: string, value: string | null, version: number, nowMs: number): boolean {
    if (version <= this.maxVersion) return false;
    const entry: StoredEntry = { key, value, version, writtenAtMs: nowMs };
    const previous = this.#entries.get(key);
    if (previous !== undefined) {
      this.#superseded++;
      if (previous.value === null) this.#tombstones--;
    }
    if (value === null) this.#tombstones++;
    this.#entries.set(key, entry);
    this.#log.push(entry);
    this.maxVersion = version;
    if (this.#superseded > 32 && this.#superseded * 2 > this.#log.length) this.#compact();
    return true;
  }

  /** Forgets everything (a reset delta follows). */
  reset(gcVersion: number): void {
    this.#entries.clear();
    this.#log = [];
    this.#superseded = 0;
    this.#tombstones = 0;
    this.maxVersion = 0;
    this.gcVersion = gcVersion;
  }

  /** After a complete reset: everything up to the sender's collection point is known. */
  completeReset(gcVersion: number): void {
    if (gcVersion > this.maxVersion) this.maxVersion = gcVersion;
    if (gcVersion > this.gcVersion) this.gcVersion = gcVersion;
  }

  /** Index in the log of the first entry with version > `version`. */
  #firstAfter(version: number): number {
    let low = 0;
    let high = this.#log.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#log[middle]!.version <= version) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /** Current entries with version > `version`, ascending. */
  *entriesAfter(version: number): Generator<StoredEntry> {
    for (let i = this.#firstAfter(version); i < this.#log.length; i++) {
      const entry = this.#log[i]!;
      if (this.#entries.get(entry.key) === entry) yield entry;
    }
  }

  /** Removes tombstones older than the grace period; returns how many were collected. */
  collectTombstones(nowMs: number, graceMs: number): number {
    if (this.#tombstones === 0) return 0;
    let collected = 0;
    for (const entry of this.#entries.values()) {
      if (entry.value === null && entry.writtenAtMs + graceMs <= nowMs) {
        this.#entries.delete(entry.key);
        this.#superseded++;
        this.#tombstones--;
        if (entry.version > this.gcVersion) this.gcVersion = entry.version;
        collected++;
      }
    }
    if (collected > 0) this.#compact();
    assert(this.gcVersion <= this.maxVersion, 'gcVersion never passes maxVersion');
    return collected;
  }

  #compact(): void {
    this.#log = this.#log.filter((entry) => this.#entries.get(entry.key) === entry);
    this.#superseded = 0;
  }
}
