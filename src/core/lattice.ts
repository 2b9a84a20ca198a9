/**
 * The two join-semilattices everything a node learns is merged in. The node applies them incrementally
 * (through digests and deltas); these pure versions define what "merged" means, and the property tests
 * check that they are commutative, associative and idempotent and that the node's merges agree with them.
 *
 * - Liveness of a member: (generation, heartbeat, status) compared lexicographically, statuses ordered
 *   alive < suspect < down < left. A newer generation supersedes everything; a higher heartbeat refutes
 *   any verdict made at a lower one; at an equal heartbeat the later status wins.
 * - State of an owner (one generation): per key, the entry with the higher version; versions are unique
 *   per owner, so two entries with the same version are the same write.
 */

export interface Liveness {
  readonly generation: number;
  readonly heartbeat: number;
  /** 0 alive, 1 suspect, 2 down, 3 left. */
  readonly status: number;
}

export function compareLiveness(a: Liveness, b: Liveness): number {
  return a.generation - b.generation || a.heartbeat - b.heartbeat || a.status - b.status;
}

export function joinLiveness(a: Liveness, b: Liveness): Liveness {
  return compareLiveness(a, b) >= 0 ? a : b;
}

export interface VersionedEntry {
  readonly value: string | null;
  readonly version: number;
}

/** An owner's state as a plain map: key to its latest entry (tombstones have value null). */
export type StateSnapshot = ReadonlyMap<string, VersionedEntry>;

export function joinStates(a: StateSnapshot, b: StateSnapshot): Map<string, VersionedEntry> {
  const joined = new Map(a);
  for (const [key, entry] of b) {
    const current = joined.get(key);
    if (current === undefined || entry.version > current.version) joined.set(key, entry);
  }
  return joined;
}

/** The highest version in a state (its scuttlebutt summary), 0 for an empty one. */
export function maxVersionOf(state: StateSnapshot): number {
  let max = 0;
  for (const entry of state.values()) if (entry.version > max) max = entry.version;
  return max;
}
