/**
 * Invariant checkers that watch every simulated run. A violation never throws inside the simulation; it is
 * recorded with the time and the seed's run, so a failing seed reads as a story and replays exactly.
 *
 * - monotonic: a member's generation never decreases at any node; within a generation, its heartbeat and
 *   state version never decrease (sampled views, every round);
 * - false verdicts: no member is declared down unless a fault was injected on it;
 * - convergence (called after healing): every live node holds the same view, compared by checksum, and
 *   every update made before or during the faults has reached every live node.
 */
import type { ClusterEvent } from '../core/index.js';
import type { SimCluster, SimHost } from './cluster.js';

export interface Violation {
  readonly atMs: number;
  readonly checker: string;
  readonly message: string;
}

export class Checkers {
  readonly violations: Violation[] = [];
  falseDownVerdicts = 0;
  suspicions = 0;
  #cluster: SimCluster;
  /**
   * Each sampled host's view at its last sample: member names in view order and (generation, heartbeat,
   * version) per member in one array. Every host is sampled in turn, so these snapshots stay alive for many
   * rounds; a Map of small arrays per host made the collector's old generation grow by megabytes a round.
   */
  #previous = new Map<number, { generation: number; names: string[]; values: Float64Array }>();
  #sampleCursor = 0;
  #sampleSize: number;
  #stopped = false;
  #unsubscribe: () => void;

  constructor(cluster: SimCluster, sampleSize = 8) {
    this.#cluster = cluster;
    this.#sampleSize = sampleSize;
    this.#unsubscribe = cluster.onEvent((host, event) => this.#onEvent(host, event));
    this.#scheduleSample();
  }

  stop(): void {
    this.#stopped = true;
    this.#unsubscribe();
  }

  report(checker: string, message: string): void {
    if (this.violations.length < 100) this.violations.push({ atMs: this.#cluster.now, checker, message });
  }

  #onEvent(host: SimHost, event: ClusterEvent): void {
    if (event.type === 'member-suspect') this.suspicions++;
    if (event.type !== 'member-down') return;
    if (this.#cluster.faulted.has(event.member.name)) return;
    this.falseDownVerdicts++;
    const verdict = event.member.verdict;
    this.report(
      'false-verdict',
      `${host.name} declared ${event.member.name} down although no fault was injected on it` +
        (verdict === null
          ? ''
          : ` (by ${verdict.accuser}, ${verdict.reason}, phi ${verdict.phiHundredths / 100})`),
    );
  }

  #scheduleSample(): void {
    const cluster = this.#cluster;
    cluster.queue.after(cluster.options.gossipIntervalMs, () => {
      if (this.#stopped) return;
      this.#sample();
      this.#scheduleSample();
    });
  }

  /** Checks a rotating sample of nodes' views against what the same nodes said a round ago. */
  #sample(): void {
    const hosts = this.#cluster.hosts;
    const count = Math.min(this.#sampleSize, hosts.length);
    for (let i = 0; i < count; i++) {
      const host = hosts[(this.#sampleCursor + i) % hosts.length]!;
      if (host.state !== 'running') {
        this.#previous.delete(host.index);
        continue;
      }
      this.#checkHost(host);
    }
    this.#sampleCursor = (this.#sampleCursor + count) % hosts.length;
  }

  #checkHost(host: SimHost): void {
    const sampled = this.#previous.get(host.index);
    // A restarted host starts a fresh history.
    const previous = sampled?.generation === host.node.generation ? sampled : undefined;
    const current = host.node.memberVersions();
    if (previous !== undefined) this.#compare(host, previous, current);
    this.#previous.set(host.index, { generation: host.node.generation, ...current });
  }

  /** Reports members whose generation, heartbeat or version went back since the previous sample. */
  #compare(
    host: SimHost,
    previous: { readonly names: readonly string[]; readonly values: Float64Array },
    current: { readonly names: readonly string[]; readonly values: Float64Array },
  ): void {
    // Both lists are in view order: walk them together, and look names up only once they stop lining up
    // (a member joined or was reaped in between).
    let index: Map<string, number> | null = null;
    let next = 0;
    for (let position = 0; position < current.names.length; position++) {
      const name = current.names[position]!;
      let at = -1;
      if (index === null && next < previous.names.length && previous.names[next] === name) at = next++;
      else {
        if (index === null) {
          index = new Map();
          for (let i = 0; i < previous.names.length; i++) index.set(previous.names[i]!, i);
        }
        at = index.get(name) ?? -1;
      }
      if (at < 0) continue;
      const generation = previous.values[3 * at]!;
      const heartbeat = previous.values[3 * at + 1]!;
      const version = previous.values[3 * at + 2]!;
      const nowGeneration = current.values[3 * position]!;
      const nowHeartbeat = current.values[3 * position + 1]!;
      const nowVersion = current.values[3 * position + 2]!;
      if (nowGeneration < generation) {
        this.report('monotonic', `${host.name} moved ${name} back from generation ${generation}`);
      } else if (nowGeneration === generation) {
        if (nowHeartbeat < heartbeat) {
          this.report(
            'monotonic',
            `${host.name} moved ${name}'s heartbeat back: ${heartbeat} -> ${nowHeartbeat}`,
          );
        }
        if (nowVersion < version) {
          this.report('monotonic', `${host.name} moved ${name}'s version back: ${version} -> ${nowVersion}`);
        }
      }
    }
  }

  /** After healing: every live node must hold the same view (checksums) and every listed key. */
  checkConverged(expectedKeys: readonly { owner: string; key: string; value: string }[]): boolean {
    const live = this.#cluster.liveHosts();
    const checksums = new Map<number, string[]>();
    for (const host of live) {
      const checksum = host.node.viewChecksum();
      const names = checksums.get(checksum) ?? [];
      names.push(host.name);
      checksums.set(checksum, names);
    }
    let ok = true;
    if (checksums.size > 1) {
      ok = false;
      const groups = [...checksums.values()].map(
        (names) => `${names.length} nodes (${names.slice(0, 3).join(', ')}…)`,
      );
      this.report('convergence', `live nodes disagree after healing: ${groups.join(' vs ')}`);
    }
    for (const { owner, key, value } of expectedKeys) {
      const missing = live.filter((host) => host.node.keysOf(owner)?.get(key)?.value !== value);
      if (missing.length > 0) {
        ok = false;
        this.report(
          'convergence',
          `${missing.length} live nodes lack ${owner}/${key} after healing (${missing[0]!.name}…)`,
        );
      }
    }
    return ok;
  }

  /** True when every live node holds the same view and every listed key (no violation recorded). */
  converged(expectedKeys: readonly { owner: string; key: string; value: string }[]): boolean {
    const live = this.#cluster.liveHosts();
    if (live.length === 0) return true;
    const first = live[0]!.node.viewChecksum();
    for (const host of live) if (host.node.viewChecksum() !== first) return false;
    for (const { owner, key, value } of expectedKeys) {
      for (const host of live) if (host.node.keysOf(owner)?.get(key)?.value !== value) return false;
    }
    return true;
  }
}
