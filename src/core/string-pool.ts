/**
 * Interned strings with reference counts. The member table stores names and addresses as small integer
 * ids in typed arrays instead of pointers in JavaScript arrays: off the garbage-collected heap, a member
 * list of 10,000 costs the collector nothing to trace. A pool is private to one node by default; the
 * simulator hands one pool to all its nodes, so 10,000 nodes share one copy of each name (in production a
 * process runs one node, and the pool is simply its own).
 *
 * Invariant: an id is live while its count is positive; released ids are reused.
 */
import { assert } from './assert.js';
import { fnv1aString } from './hash.js';

export class StringPool {
  #ids = new Map<string, number>();
  #values: (string | undefined)[] = [];
  #counts: number[] = [];
  /** FNV-1a state of each string's UTF-8 bytes, computed once when it is interned (see hash.ts). */
  #hashes: number[] = [];
  #free: number[] = [];

  /** The id of `value`, interning it if needed; the caller holds one reference until `release`. */
  acquire(value: string): number {
    let id = this.#ids.get(value);
    if (id === undefined) {
      id = this.#free.pop() ?? this.#values.length;
      this.#ids.set(value, id);
      this.#values[id] = value;
      this.#counts[id] = 0;
      this.#hashes[id] = fnv1aString(value);
    }
    this.#counts[id]!++;
    return id;
  }

  release(id: number): void {
    const count = this.#counts[id];
    assert(count !== undefined && count > 0, `release of a dead string id ${id}`);
    if (count > 1) {
      this.#counts[id] = count - 1;
      return;
    }
    this.#ids.delete(this.#values[id]!);
    this.#values[id] = undefined;
    this.#counts[id] = 0;
    this.#free.push(id);
  }

  value(id: number): string {
    const value = this.#values[id];
    assert(value !== undefined, `unknown string id ${id}`);
    return value;
  }

  /** The unfinalised FNV-1a state of the string (hash.ts derives member keys and identity words from it). */
  hashState(id: number): number {
    return this.#hashes[id]!;
  }

  /** The id of `value` if it is interned, without taking a reference. */
  idOf(value: string): number | undefined {
    return this.#ids.get(value);
  }

  get size(): number {
    return this.#ids.size;
  }
}
