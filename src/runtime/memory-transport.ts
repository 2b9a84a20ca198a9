/**
 * An in-process network of transports, for tests and examples that want real asynchrony without sockets.
 * It owns the table of attached addresses and keeps the semantics of UDP and TCP that the core relies on:
 *
 * - every delivery happens later (setImmediate), never inside the sender's call, so a handler never runs
 *   inside the runner step that produced the send;
 * - datagrams above `datagramBytesMax` (the sender's or the receiver's) are dropped and counted; a datagram
 *   to an unknown address is dropped silently, as UDP does;
 * - a stream to an unknown or closed address fails and is counted; a probe answers 'refused' for it and
 *   'reachable' for an attached address; across a partition streams fail and probes answer 'timeout';
 * - no handler of a transport runs after its `close()`; closing frees the address for a new transport.
 *
 * Every byte array is copied on send (with `new Uint8Array(bytes)`, since `Buffer#slice` would share memory),
 * as a real network would, so senders may reuse their buffers.
 */
import type { ProbeOutcome } from '../core/index.js';
import type { Transport, TransportHandlers } from './transport.js';

export interface MemoryNetworkOptions {
  /** Largest datagram a transport sends or accepts unless it sets its own; default 65,507 (UDP's limit). */
  readonly datagramBytesMax?: number;
  /** Largest stream frame; larger sends fail and are counted. Default 16 MiB. */
  readonly streamBytesMax?: number;
  /** Fraction of datagrams lost at random (streams and probes are not affected). Default 0. */
  readonly lossRate?: number;
  /** Source of randomness for loss, in [0, 1); default Math.random. Inject a seeded one to replay a run. */
  readonly random?: () => number;
  /** Deliveries in flight across the whole network; beyond it datagrams drop and streams fail. Default 100,000. */
  readonly inFlightMax?: number;
}

export interface MemoryTransportOptions {
  /** This transport's own datagram limit, for sending and receiving; default the network's. */
  readonly datagramBytesMax?: number;
}

export interface MemoryTransportStats {
  datagramsSent: number;
  datagramBytesSent: number;
  datagramsReceived: number;
  datagramBytesReceived: number;
  /** Datagrams this transport refused to send because they exceed its `datagramBytesMax`. */
  datagramsOversizeDropped: number;
  /** Inbound datagrams dropped because they exceed this transport's `datagramBytesMax`. */
  datagramsOversizeReceived: number;
  /** Datagrams sent to an address nobody holds (silently dropped, as UDP does). */
  datagramsUnroutable: number;
  /** Datagrams lost to the loss rate or to a partition. */
  datagramsLost: number;
  streamsOpened: number;
  streamsAccepted: number;
  /** Streams that could not be delivered: unknown or closed address, partition, too large, network full. */
  streamsFailed: number;
  streamBytesSent: number;
  streamBytesReceived: number;
  probesReachable: number;
  probesRefused: number;
  probesTimeout: number;
}

/** Binding an address that another open transport holds: the in-memory EADDRINUSE. */
export class MemoryAddressInUseError extends Error {
  override readonly name = 'MemoryAddressInUseError';
  readonly code = 'ADDRESS_IN_USE';
  constructor(address: string) {
    super(`memory address ${address} is already in use by an open transport`);
  }
}

const DEFAULT_DATAGRAM_BYTES_MAX = 65_507;
const DEFAULT_STREAM_BYTES_MAX = 16 * 1024 * 1024;
const DEFAULT_IN_FLIGHT_MAX = 100_000;

function newStats(): MemoryTransportStats {
  return {
    datagramsSent: 0,
    datagramBytesSent: 0,
    datagramsReceived: 0,
    datagramBytesReceived: 0,
    datagramsOversizeDropped: 0,
    datagramsOversizeReceived: 0,
    datagramsUnroutable: 0,
    datagramsLost: 0,
    streamsOpened: 0,
    streamsAccepted: 0,
    streamsFailed: 0,
    streamBytesSent: 0,
    streamBytesReceived: 0,
    probesReachable: 0,
    probesRefused: 0,
    probesTimeout: 0,
  };
}

export class MemoryNetwork {
  readonly datagramBytesMax: number;
  readonly streamBytesMax: number;
  lossRate: number;
  readonly #random: () => number;
  readonly #inFlightMax: number;
  #inFlight = 0;
  readonly #attached = new Map<string, MemoryTransport>();
  /** Partition group per address; addresses in different groups cannot reach each other. */
  readonly #groups = new Map<string, number>();

  constructor(options: MemoryNetworkOptions = {}) {
    this.datagramBytesMax = options.datagramBytesMax ?? DEFAULT_DATAGRAM_BYTES_MAX;
    this.streamBytesMax = options.streamBytesMax ?? DEFAULT_STREAM_BYTES_MAX;
    this.lossRate = options.lossRate ?? 0;
    this.#random = options.random ?? Math.random;
    this.#inFlightMax = options.inFlightMax ?? DEFAULT_IN_FLIGHT_MAX;
  }

  /** A transport holding `address` (any non-empty string, host:port by convention); throws if it is taken. */
  transport(address: string, options: MemoryTransportOptions = {}): MemoryTransport {
    if (address.length === 0) throw new RangeError('a memory transport needs a non-empty address');
    if (this.#attached.has(address)) throw new MemoryAddressInUseError(address);
    const transport = new MemoryTransport(this, address, options.datagramBytesMax ?? this.datagramBytesMax);
    this.#attached.set(address, transport);
    return transport;
  }

  /** Splits addresses into groups that cannot reach one another; unlisted addresses form one more group. */
  partition(groups: readonly (readonly string[])[]): void {
    this.#groups.clear();
    groups.forEach((addresses, index) => {
      for (const address of addresses) this.#groups.set(address, index + 1);
    });
  }

  heal(): void {
    this.#groups.clear();
  }

  /** Addresses held by open transports. */
  addresses(): string[] {
    return [...this.#attached.keys()];
  }

  // The methods below are the transports' side of the network; they are not meant for callers.

  /** @internal */
  detach(transport: MemoryTransport): void {
    if (this.#attached.get(transport.localAddress) === transport)
      this.#attached.delete(transport.localAddress);
  }

  /** @internal */
  route(from: string, to: string): { target: MemoryTransport | undefined; blocked: boolean } {
    const target = this.#attached.get(to);
    const blocked = (this.#groups.get(from) ?? 0) !== (this.#groups.get(to) ?? 0);
    return { target, blocked };
  }

  /** @internal */
  lost(): boolean {
    return this.lossRate > 0 && this.#random() < this.lossRate;
  }

  /** @internal Runs `deliver` on a later turn of the event loop; false (nothing scheduled) when full. */
  later(deliver: () => void): boolean {
    if (this.#inFlight >= this.#inFlightMax) return false;
    this.#inFlight++;
    setImmediate(() => {
      this.#inFlight--;
      deliver();
    });
    return true;
  }
}

export class MemoryTransport implements Transport {
  readonly localAddress: string;
  readonly datagramBytesMax: number;
  readonly stats: MemoryTransportStats = newStats();
  readonly #network: MemoryNetwork;
  #handlers: TransportHandlers | null = null;
  #closed = false;

  constructor(network: MemoryNetwork, address: string, datagramBytesMax: number) {
    this.#network = network;
    this.localAddress = address;
    this.datagramBytesMax = datagramBytesMax;
  }

  get closed(): boolean {
    return this.#closed;
  }

  attach(handlers: TransportHandlers): void {
    this.#handlers = handlers;
  }

  sendDatagram(to: string, bytes: Uint8Array): void {
    if (this.#closed) return;
    if (bytes.length > this.datagramBytesMax) {
      this.stats.datagramsOversizeDropped++;
      return;
    }
    this.stats.datagramsSent++;
    this.stats.datagramBytesSent += bytes.length;
    const { target, blocked } = this.#network.route(this.localAddress, to);
    if (target === undefined) {
      this.stats.datagramsUnroutable++;
      return;
    }
    if (blocked || this.#network.lost()) {
      this.stats.datagramsLost++;
      return;
    }
    const copy = new Uint8Array(bytes);
    if (!this.#network.later(() => target.#receiveDatagram(copy, this.localAddress)))
      this.stats.datagramsLost++;
  }

  sendStream(to: string, bytes: Uint8Array): void {
    if (this.#closed) return;
    const { target, blocked } = this.#network.route(this.localAddress, to);
    if (target === undefined || blocked || bytes.length > this.#network.streamBytesMax) {
      this.stats.streamsFailed++;
      return;
    }
    const copy = new Uint8Array(bytes);
    const scheduled = this.#network.later(() => {
      // The receiver may have closed while the stream was in flight: then the connection is refused.
      if (target.#receiveStream(copy, this.localAddress)) {
        this.stats.streamsOpened++;
        this.stats.streamBytesSent += copy.length;
      } else {
        this.stats.streamsFailed++;
      }
    });
    if (!scheduled) this.stats.streamsFailed++;
  }

  probe(to: string): void {
    if (this.#closed) return;
    const scheduled = this.#network.later(() => {
      if (this.#closed) return;
      // Routed when the answer comes, as a real probe sees whoever holds the port at connect time.
      const { target, blocked } = this.#network.route(this.localAddress, to);
      const outcome: ProbeOutcome = blocked ? 'timeout' : target?.closed === false ? 'reachable' : 'refused';
      this.#countProbe(outcome);
      this.#handlers?.onProbeResult(to, outcome);
    });
    if (!scheduled) {
      // The core waits for an answer to every probe: a full network still answers, as a timeout would.
      this.#countProbe('timeout');
      queueMicrotask(() => {
        if (!this.#closed) this.#handlers?.onProbeResult(to, 'timeout');
      });
    }
  }

  /** Detaches from the network: the address is free at once and no handler runs afterwards. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#handlers = null;
      this.#network.detach(this);
    }
    return Promise.resolve();
  }

  #countProbe(outcome: ProbeOutcome): void {
    if (outcome === 'reachable') this.stats.probesReachable++;
    else if (outcome === 'refused') this.stats.probesRefused++;
    else this.stats.probesTimeout++;
  }

  #receiveDatagram(bytes: Uint8Array, from: string): void {
    if (this.#closed || this.#handlers === null) return;
    if (bytes.length > this.datagramBytesMax) {
      this.stats.datagramsOversizeReceived++;
      return;
    }
    this.stats.datagramsReceived++;
    this.stats.datagramBytesReceived += bytes.length;
    this.#handlers.onDatagram(bytes, from);
  }

  /** Returns whether the stream was accepted (false: the address is closed, as a refused connection). */
  #receiveStream(bytes: Uint8Array, from: string): boolean {
    if (this.#closed) return false;
    this.stats.streamsAccepted++;
    this.stats.streamBytesReceived += bytes.length;
    this.#handlers?.onStream(bytes, from);
    return true;
  }
}
