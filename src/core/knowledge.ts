/**
 * What a peer reported, in one exchange, about each member it mentioned: the generation and state version it
 * holds (generation -1: it does not know the member), and whether it listed a liveness ours supersedes (a
 * down verdict at an older heartbeat than the one we hold alive, say), so that we send it our entry even if
 * it lacks no state.
 *
 * It behaves as a Map from slot to that report, in insertion order, a later report on a slot replacing the
 * earlier one in place; but one list serves every exchange of a node, cleared instead of reallocated, with
 * its columns in plain arrays: a node fills one for every syn and syn-ack it receives, most with one to
 * three entries, and a Map's clear() and an object per entry were a measurable share of a simulated round.
 */

/** Past this many entries, lookups go through an index instead of a scan (explicit pages list dozens). */
const SCAN_MAX = 16;

export class PeerKnowledge {
  readonly #slots: number[] = [];
  readonly #generations: number[] = [];
  readonly #versions: number[] = [];
  readonly #stale: boolean[] = [];
  #length = 0;
  #index: Map<number, number> | null = null;

  get length(): number {
    return this.#length;
  }

  clear(): void {
    this.#length = 0;
    this.#index = null;
  }

  set(slot: number, generation: number, version: number, staleLiveness: boolean): void {
    let at = this.#find(slot);
    if (at < 0) {
      at = this.#length++;
      this.#slots[at] = slot;
      if (this.#index !== null) this.#index.set(slot, at);
      else if (this.#length > SCAN_MAX) {
        this.#index = new Map();
        for (let i = 0; i < this.#length; i++) this.#index.set(this.#slots[i]!, i);
      }
    }
    this.#generations[at] = generation;
    this.#versions[at] = version;
    this.#stale[at] = staleLiveness;
  }

  has(slot: number): boolean {
    return this.#find(slot) >= 0;
  }

  slotAt(index: number): number {
    return this.#slots[index]!;
  }

  generationAt(index: number): number {
    return this.#generations[index]!;
  }

  versionAt(index: number): number {
    return this.#versions[index]!;
  }

  staleLivenessAt(index: number): boolean {
    return this.#stale[index]!;
  }

  #find(slot: number): number {
    if (this.#index !== null) return this.#index.get(slot) ?? -1;
    for (let i = 0; i < this.#length; i++) if (this.#slots[i] === slot) return i;
    return -1;
  }
}
