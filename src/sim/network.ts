/**
 * A simulated network of datagrams, streams and reachability probes between simulated hosts.
 *
 * Faults it models, all drawn from the run's seeded random source: latency (a base plus an exponential
 * tail), loss, duplication, reordering (an extra random delay on some packets), symmetric partitions
 * (groups), one-way link cuts, crashed processes (connections refused, host up), dead hosts (silence), and
 * stalled processes (the host still accepts connections and buffers datagrams, the process handles none).
 */
import type { ProbeOutcome, Random } from '../core/index.js';
import type { EventQueue } from './event-queue.js';

export interface LinkModel {
  /** One-way base latency. */
  latencyMs: number;
  /** Mean of the extra latency added to every packet, drawn from `jitterDistribution`. */
  jitterMs: number;
  /**
   * exponential: memoryless, most packets fast; uniform: between 0 and twice the mean; pareto: a heavy tail
   * (shape 1.5), so a few packets are very late, as on a congested link.
   */
  jitterDistribution: 'exponential' | 'uniform' | 'pareto';
  lossRate: number;
  duplicateRate: number;
  /** Fraction of packets held back by an extra delay of up to `reorderDelayMs`, so they overtake one another. */
  reorderRate: number;
  reorderDelayMs: number;
  /** How long a probe of an unreachable address waits before it reports a timeout. */
  probeTimeoutMs: number;
}

export const DEFAULT_LINK_MODEL: LinkModel = {
  latencyMs: 1,
  jitterMs: 1,
  jitterDistribution: 'exponential',
  lossRate: 0,
  duplicateRate: 0,
  reorderRate: 0,
  reorderDelayMs: 20,
  probeTimeoutMs: 1000,
};

/** How a simulated host's process is doing. */
export type HostState = 'running' | 'stalled' | 'crashed' | 'host-down';

export interface Endpoint {
  readonly state: HostState;
  deliver(channel: 'datagram' | 'stream', bytes: Uint8Array, from: string): void;
  deliverProbeResult(address: string, outcome: ProbeOutcome): void;
}

export interface NetworkStats {
  datagramsSent: number;
  datagramsDelivered: number;
  datagramsLost: number;
  datagramsBlocked: number;
  datagramsDuplicated: number;
  streamsSent: number;
  streamsBlocked: number;
}

export type PacketMutator = (from: string, to: string, bytes: Uint8Array) => Uint8Array;

/** An address is held by an open transport already. */
export class SimAddressInUseError extends Error {
  override readonly name = 'SimAddressInUseError';
  readonly code = 'ADDRESS_IN_USE';
  constructor(address: string) {
    super(`address ${address} is already in use`);
  }
}

export class SimNetwork {
  readonly model: LinkModel;
  readonly stats: NetworkStats = {
    datagramsSent: 0,
    datagramsDelivered: 0,
    datagramsLost: 0,
    datagramsBlocked: 0,
    datagramsDuplicated: 0,
    streamsSent: 0,
    streamsBlocked: 0,
  };
  #queue: EventQueue;
  #random: Random;
  #endpoints = new Map<string, Endpoint>();
  /** Partition group per address: traffic between different groups is dropped both ways. */
  #groups = new Map<string, number>();
  /** Directed cuts "from>to". */
  #cuts = new Set<string>();
  /** Per-host extra loss (nftables inside one namespace, say). */
  #hostLoss = new Map<string, number>();
  mutator: PacketMutator | null = null;

  constructor(queue: EventQueue, random: Random, model: Partial<LinkModel> = {}) {
    this.#queue = queue;
    this.#random = random;
    this.model = { ...DEFAULT_LINK_MODEL, ...model };
  }

  /** Attaches an endpoint to an address; throws SimAddressInUseError if an open endpoint holds it. */
  register(address: string, endpoint: Endpoint): void {
    if (this.#endpoints.has(address)) throw new SimAddressInUseError(address);
    this.#endpoints.set(address, endpoint);
  }

  unregister(address: string, endpoint: Endpoint): void {
    if (this.#endpoints.get(address) === endpoint) this.#endpoints.delete(address);
  }

  /** Splits the hosts into groups (an array of address lists); unlisted hosts form group 0. */
  partition(groups: readonly (readonly string[])[]): void {
    this.#groups.clear();
    groups.forEach((addresses, index) => {
      for (const address of addresses) this.#groups.set(address, index + 1);
    });
  }

  cut(from: string, to: string): void {
    this.#cuts.add(`${from}>${to}`);
  }

  heal(): void {
    this.#groups.clear();
    this.#cuts.clear();
  }

  setHostLoss(address: string, lossRate: number): void {
    if (lossRate > 0) this.#hostLoss.set(address, lossRate);
    else this.#hostLoss.delete(address);
  }

  blocked(from: string, to: string): boolean {
    if (this.#groups.size === 0 && this.#cuts.size === 0) return false;
    if ((this.#groups.get(from) ?? 0) !== (this.#groups.get(to) ?? 0)) return true;
    return this.#cuts.size > 0 && this.#cuts.has(`${from}>${to}`);
  }

  #delay(): number {
    const model = this.model;
    let delay = model.latencyMs;
    if (model.jitterMs > 0) delay += jitterOf(this.#random.next(), model.jitterMs, model.jitterDistribution);
    if (model.reorderRate > 0 && this.#random.next() < model.reorderRate) {
      delay += this.#random.next() * model.reorderDelayMs;
    }
    return delay;
  }

  #lost(from: string, to: string): boolean {
    const rate = this.model.lossRate;
    if (rate > 0 && this.#random.next() < rate) return true;
    if (this.#hostLoss.size === 0) return false;
    const fromLoss = this.#hostLoss.get(from) ?? 0;
    const toLoss = this.#hostLoss.get(to) ?? 0;
    return (fromLoss > 0 && this.#random.next() < fromLoss) || (toLoss > 0 && this.#random.next() < toLoss);
  }

  sendDatagram(from: string, to: string, bytes: Uint8Array): void {
    this.stats.datagramsSent++;
    if (this.blocked(from, to)) {
      this.stats.datagramsBlocked++;
      return;
    }
    if (this.#lost(from, to)) {
      this.stats.datagramsLost++;
      return;
    }
    const payload = this.mutator === null ? bytes : this.mutator(from, to, bytes);
    this.#deliverLater(from, to, payload, this.#delay());
    if (this.model.duplicateRate > 0 && this.#random.next() < this.model.duplicateRate) {
      this.stats.datagramsDuplicated++;
      this.#deliverLater(from, to, payload, this.#delay());
    }
  }

  #deliverLater(from: string, to: string, bytes: Uint8Array, delayMs: number): void {
    this.#queue.after(delayMs, new DatagramArrival(this, from, to, bytes));
  }

  /** A datagram reaches `to` now, if a process there takes it (called by DatagramArrival). */
  arrive(from: string, to: string, bytes: Uint8Array): void {
    const endpoint = this.#endpoints.get(to);
    if (endpoint === undefined || endpoint.state === 'crashed' || endpoint.state === 'host-down') return;
    this.stats.datagramsDelivered++;
    endpoint.deliver('datagram', bytes, from);
  }

  /**
   * A stream carries one frame reliably; a cut link or a missing process fails the connection. `settled`
   * learns which, when the connection would have completed or failed.
   */
  sendStream(from: string, to: string, bytes: Uint8Array, settled?: (delivered: boolean) => void): void {
    this.stats.streamsSent++;
    if (this.blocked(from, to) || this.blocked(to, from)) {
      this.stats.streamsBlocked++;
      this.#queue.after(this.model.probeTimeoutMs, () => settled?.(false));
      return;
    }
    // A handshake round trip, then the bytes at about 100 MB/s.
    const delay = 3 * this.#delay() + bytes.length / 100_000;
    this.#queue.after(delay, () => {
      const endpoint = this.#endpoints.get(to);
      if (endpoint === undefined || endpoint.state === 'crashed' || endpoint.state === 'host-down') {
        settled?.(false);
        return;
      }
      settled?.(true);
      endpoint.deliver('stream', bytes, from);
    });
  }

  /** Does `to` accept connections? Refused when its process is gone but the host is up. */
  probe(from: string, to: string): void {
    const source = this.#endpoints.get(from);
    const target = this.#endpoints.get(to);
    let outcome: ProbeOutcome;
    let delay = this.#delay() + this.#delay();
    if (this.blocked(from, to) || this.blocked(to, from) || target?.state === 'host-down') {
      outcome = 'timeout';
      delay = this.model.probeTimeoutMs;
    } else if (target === undefined || target.state === 'crashed') {
      // Nothing listens at that address (the process is gone, or never was): the host refuses.
      outcome = 'refused';
    } else {
      outcome = 'reachable';
    }
    this.#queue.after(delay, () => {
      if (source !== undefined && source.state !== 'crashed' && source.state !== 'host-down') {
        source.deliverProbeResult(to, outcome);
      }
    });
  }
}

/** A datagram in flight: one queued object per datagram (see QueueAction). */
class DatagramArrival {
  readonly #network: SimNetwork;
  readonly #from: string;
  readonly #to: string;
  readonly #bytes: Uint8Array;

  constructor(network: SimNetwork, from: string, to: string, bytes: Uint8Array) {
    this.#network = network;
    this.#from = from;
    this.#to = to;
    this.#bytes = bytes;
  }

  fire(): void {
    this.#network.arrive(this.#from, this.#to, this.#bytes);
  }
}

/** A jitter of mean `meanMs` drawn from `distribution`, given a uniform draw `u` in [0, 1). */
function jitterOf(u: number, meanMs: number, distribution: LinkModel['jitterDistribution']): number {
  switch (distribution) {
    case 'exponential':
      return -Math.log(1 - u) * meanMs;
    case 'uniform':
      return 2 * u * meanMs;
    case 'pareto': {
      // Pareto with shape 1.5 and scale meanMs / 3 has mean meanMs; capped at 1000 means.
      const shape = 1.5;
      const scale = (meanMs * (shape - 1)) / shape;
      return Math.min(scale / (1 - u) ** (1 / shape), 1000 * meanMs);
    }
  }
}
