/**
 * The simulator's transport: the same Transport contract as the UDP/TCP and in-memory transports (the
 * contract suite in test/contract runs against all three), over a SimNetwork and its virtual clock.
 *
 * It owns what a socket owns: its address (taken while open, released by close), the datagram size limit in
 * both directions, counters, and the rule that no handler runs after close. What a *host* does (a process
 * stopped by SIGSTOP buffering packets in its socket, a dead host answering nothing) comes from optional
 * hooks, so simulated hosts can stall and crash while the transport stays a plain transport.
 */
import type { ProbeOutcome } from '../core/index.js';
import type { Transport, TransportHandlers } from '../runtime/transport.js';
import type { Endpoint, HostState, SimNetwork } from './network.js';

export interface SimTransportStats {
  datagramsSent: number;
  datagramsReceived: number;
  datagramsOversizeDropped: number;
  datagramsOversizeReceived: number;
  bytesSent: number;
  streamsOpened: number;
  streamsFailed: number;
  probesSent: number;
}

/** A delivery a stalled host keeps for later, as a kernel keeps packets for a stopped process. */
export type HeldDelivery =
  | { readonly channel: 'datagram' | 'stream'; readonly bytes: Uint8Array; readonly from: string }
  | { readonly channel: 'probe'; readonly address: string; readonly outcome: ProbeOutcome };

/**
 * The host behind a transport (a SimHost implements it): a property and a method of the host itself rather
 * than closures around it, so a delivery reads one object (see the runner's note on cache misses).
 */
export interface HostHooks {
  /** The state of the process behind this transport. */
  readonly state: HostState;
  /** Called instead of delivering while the host is stalled; the host redelivers through `deliverNow`. */
  hold(delivery: HeldDelivery): void;
}

export interface SimTransportOptions {
  readonly datagramBytesMax?: number;
  readonly host?: HostHooks;
}

export class SimTransport implements Transport, Endpoint {
  readonly localAddress: string;
  // Counters are fields of the transport itself, not of a stats object beside it: every datagram counts,
  // and in a simulated cluster of 1,000 nodes each object a delivery reads is usually a cache miss.
  #datagramsSent = 0;
  #datagramsReceived = 0;
  #datagramsOversizeDropped = 0;
  #datagramsOversizeReceived = 0;
  #bytesSent = 0;
  #streamsOpened = 0;
  #streamsFailed = 0;
  #probesSent = 0;
  readonly #network: SimNetwork;
  readonly #datagramBytesMax: number;
  readonly #host: HostHooks | undefined;
  #handlers: TransportHandlers | null = null;
  #closed = false;

  /** Takes `address` on the network; throws SimAddressInUseError if another open transport holds it. */
  constructor(network: SimNetwork, address: string, options: SimTransportOptions = {}) {
    this.#network = network;
    this.localAddress = address;
    this.#datagramBytesMax = options.datagramBytesMax ?? 65_507;
    this.#host = options.host;
    network.register(address, this);
  }

  /** A snapshot of the counters. */
  get stats(): SimTransportStats {
    return {
      datagramsSent: this.#datagramsSent,
      datagramsReceived: this.#datagramsReceived,
      datagramsOversizeDropped: this.#datagramsOversizeDropped,
      datagramsOversizeReceived: this.#datagramsOversizeReceived,
      bytesSent: this.#bytesSent,
      streamsOpened: this.#streamsOpened,
      streamsFailed: this.#streamsFailed,
      probesSent: this.#probesSent,
    };
  }

  get state(): HostState {
    if (this.#closed) return 'crashed';
    return this.#host?.state ?? 'running';
  }

  attach(handlers: TransportHandlers): void {
    this.#handlers = handlers;
  }

  sendDatagram(to: string, bytes: Uint8Array): void {
    if (this.#closed) return;
    if (bytes.length > this.#datagramBytesMax) {
      this.#datagramsOversizeDropped++;
      return;
    }
    this.#datagramsSent++;
    this.#bytesSent += bytes.length;
    this.#network.sendDatagram(this.localAddress, to, bytes);
  }

  sendStream(to: string, bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#bytesSent += bytes.length;
    this.#network.sendStream(this.localAddress, to, bytes, (delivered) => {
      if (delivered) this.#streamsOpened++;
      else this.#streamsFailed++;
    });
  }

  probe(to: string): void {
    if (this.#closed) return;
    this.#probesSent++;
    this.#network.probe(this.localAddress, to);
  }

  deliver(channel: 'datagram' | 'stream', bytes: Uint8Array, from: string): void {
    if (this.#closed) return;
    if (channel === 'datagram' && bytes.length > this.#datagramBytesMax) {
      this.#datagramsOversizeReceived++;
      return;
    }
    const host = this.#host;
    if (host !== undefined) {
      const state = host.state;
      if (state === 'stalled') {
        host.hold({ channel, bytes, from });
        return;
      }
      if (state !== 'running') return;
    }
    this.#handOver(channel, bytes, from);
  }

  deliverProbeResult(address: string, outcome: ProbeOutcome): void {
    if (this.#closed) return;
    if (this.#host?.state === 'stalled') {
      this.#host.hold({ channel: 'probe', address, outcome });
      return;
    }
    this.deliverNow({ channel: 'probe', address, outcome });
  }

  /** Hands a delivery to the handlers now (the host calls it for what it held during a stall). */
  deliverNow(delivery: HeldDelivery): void {
    if (this.#closed || this.#handlers === null || this.state !== 'running') return;
    if (delivery.channel === 'probe') {
      this.#handlers.onProbeResult(delivery.address, delivery.outcome);
      return;
    }
    this.#handOver(delivery.channel, delivery.bytes, delivery.from);
  }

  /** Passes bytes to the handlers (a HeldDelivery is built only for what a stalled host keeps). */
  #handOver(channel: 'datagram' | 'stream', bytes: Uint8Array, from: string): void {
    if (this.#handlers === null) return;
    if (channel === 'datagram') {
      this.#datagramsReceived++;
      this.#handlers.onDatagram(bytes, from);
    } else {
      this.#handlers.onStream(bytes, from);
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#network.unregister(this.localAddress, this);
  }
}
