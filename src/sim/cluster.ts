/**
 * A simulated cluster: N hosts, each running the production GossipNode inside the production Runner, over
 * a SimNetwork and a virtual clock. Only the transport and the scheduler are simulated, so what the
 * simulator proves about the protocol holds for the code that ships.
 *
 * Everything random (node phases, peer choices, latency, loss) derives from one seed, so a run replays
 * exactly. Faults are methods: crash (process or host), restart, stall, partition, cut, heal, loss.
 */
import {
  CLUSTER_EVENT_TYPES,
  type ClusterEvent,
  type ClusterEventType,
  GossipNode,
  type GossipOptions,
  memberKey,
  resolveGossipOptions,
  SeededRandom,
  StringPool,
} from '../core/index.js';
import { PlainFrameCodec } from '../runtime/frame-codec.js';
import { Runner } from '../runtime/runner.js';
import type { Scheduler } from '../runtime/transport.js';
import type { MemberEntry, Message, SyncMessage } from '../wire/index.js';
import { EventQueue } from './event-queue.js';
import { type HostState, type LinkModel, SimNetwork } from './network.js';
import { type HeldDelivery, type HostHooks, SimTransport } from './transport.js';

export interface SimClusterOptions {
  readonly nodes: number;
  readonly seed: number;
  readonly gossip?: Readonly<Record<string, unknown>>;
  readonly link?: Partial<LinkModel>;
  readonly clusterName?: string;
  /**
   * Event types the simulation listens to. Building events costs, and a settled start of 10,000 nodes would
   * build 10^8 member-joined events nobody reads; by default every type but that one.
   */
  readonly eventTypes?: readonly ClusterEventType[];
}

/** Datagrams a stalled host's socket buffer holds before it drops (about Linux's default 208 KiB). */
const STALL_BUFFER_BYTES = 212_992;
/** Simulated wall-clock epoch, so generations have the size real ones do (milliseconds since 1970). */
const EPOCH_MS = 1_767_225_600_000;

export function hostName(index: number): string {
  return `node-${index}`;
}

export function hostAddress(index: number): string {
  return `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}:7946`;
}

export type EventListener = (host: SimHost, event: ClusterEvent) => void;

export class SimHost implements HostHooks, Scheduler {
  readonly index: number;
  readonly name: string;
  readonly address: string;
  state: HostState = 'running';
  node!: GossipNode;
  runner!: Runner;
  restarts = 0;
  bufferDrops = 0;
  #cluster: SimCluster;
  #transport: SimTransport | null = null;
  /** Bytes sent by the transports of earlier incarnations of this host. */
  #bytesBefore = 0;
  #heldWake: (() => void) | null = null;
  #buffer: HeldDelivery[] = [];
  #bufferedBytes = 0;
  #timerToken = 0;

  constructor(cluster: SimCluster, index: number) {
    this.#cluster = cluster;
    this.index = index;
    this.name = hostName(index);
    this.address = hostAddress(index);
  }

  get bytesSent(): number {
    return this.#bytesBefore + (this.#transport?.stats.bytesSent ?? 0);
  }

  /** A fresh transport for a (re)started process, replacing the previous incarnation's. */
  openTransport(datagramBytesMax: number): SimTransport {
    if (this.#transport !== null) {
      this.#bytesBefore += this.#transport.stats.bytesSent;
      void this.#transport.close();
    }
    this.#transport = new SimTransport(this.#cluster.network, this.address, {
      datagramBytesMax,
      host: this,
    });
    return this.#transport;
  }

  /**
   * While stalled, the kernel keeps what arrives: datagrams up to the socket buffer, streams and probes.
   * Called by this host's transport.
   */
  hold(delivery: HeldDelivery): void {
    if (delivery.channel === 'datagram') {
      if (this.#bufferedBytes + delivery.bytes.length > STALL_BUFFER_BYTES) {
        this.bufferDrops++;
        return;
      }
      this.#bufferedBytes += delivery.bytes.length;
    }
    this.#buffer.push(delivery);
  }

  // The host is its runner's scheduler (methods of the host itself rather than closures around it, so a
  // step that reads the clock touches no object of its own): timers wait while the process is stopped and
  // die with it.

  now(): number {
    return this.#cluster.queue.now;
  }

  wakeAt(timeMs: number, wake: () => void): void {
    const token = ++this.#timerToken;
    if (!Number.isFinite(timeMs)) return;
    const queue = this.#cluster.queue;
    queue.at(Math.max(timeMs, queue.now), new HostTimer(this, token, wake));
  }

  /** A timer of this host is due (called by HostTimer); only the latest one asked for wakes the runner. */
  timerDue(token: number, wake: () => void): void {
    if (token !== this.#timerToken) return;
    if (this.state === 'stalled') this.#heldWake = wake;
    else if (this.state === 'running') wake();
  }

  cancel(): void {
    this.#timerToken++;
  }

  /** The process stops for `durationMs`: no timers, no packets handled (they queue in the socket buffer). */
  stall(durationMs: number): void {
    if (this.state !== 'running') return;
    this.state = 'stalled';
    this.#cluster.queue.after(durationMs, () => this.#resume());
  }

  #resume(): void {
    if (this.state !== 'stalled') return;
    this.state = 'running';
    // A late timer first, as the runner detects the stall from its lateness; then the socket backlog.
    const wake = this.#heldWake;
    this.#heldWake = null;
    wake?.();
    const held = this.#buffer;
    this.#buffer = [];
    this.#bufferedBytes = 0;
    for (const delivery of held) {
      if (this.state !== 'running') break;
      this.#transport?.deliverNow(delivery);
    }
  }

  /**
   * The process dies ('process': its host still answers, so connections to its port are refused) or the
   * whole host goes silent ('host': nothing answers, probes time out).
   */
  crash(mode: 'process' | 'host'): void {
    this.state = mode === 'process' ? 'crashed' : 'host-down';
    this.runner.stop();
    this.#heldWake = null;
    this.#buffer = [];
    this.#bufferedBytes = 0;
    if (mode === 'process' && this.#transport !== null) void this.#transport.close();
  }
}

export class SimCluster {
  readonly queue = new EventQueue();
  readonly network: SimNetwork;
  readonly hosts: SimHost[] = [];
  readonly options: GossipOptions;
  readonly seed: number;
  readonly clusterName: string;
  /** Names of hosts that had a fault injected (crash, stall, partition, cut): verdicts about them are fair. */
  readonly faulted = new Set<string>();
  #random: SeededRandom;
  /** One string pool for every simulated node: 10,000 nodes share one copy of each name and address. */
  readonly #strings = new StringPool();
  #listeners: EventListener[] = [];
  /** One frame codec for every host (they share the cluster name): fewer objects for a delivery to touch. */
  readonly #codec: PlainFrameCodec;
  readonly #eventTypes: readonly ClusterEventType[];

  constructor(options: SimClusterOptions) {
    this.seed = options.seed;
    this.#random = new SeededRandom(options.seed);
    const resolved = resolveGossipOptions(options.gossip ?? {});
    if (resolved.issues.length > 0) {
      throw new Error(
        `invalid gossip options: ${resolved.issues.map((i) => `${i.path} ${i.message}`).join('; ')}`,
      );
    }
    this.options = resolved.options;
    this.clusterName = options.clusterName ?? 'sim';
    this.#codec = new PlainFrameCodec(this.clusterName);
    this.#eventTypes = options.eventTypes ?? CLUSTER_EVENT_TYPES.filter((type) => type !== 'member-joined');
    this.network = new SimNetwork(this.queue, this.#random.fork(), options.link);
    for (let index = 0; index < options.nodes; index++) {
      const host = new SimHost(this, index);
      this.hosts.push(host);
      this.#boot(host);
    }
  }

  get now(): number {
    return this.queue.now;
  }

  get random(): SeededRandom {
    return this.#random;
  }

  onEvent(listener: EventListener): () => void {
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((item) => item !== listener);
    };
  }

  #boot(host: SimHost, seeds: readonly string[] = []): void {
    const codec = this.#codec;
    const options = seeds.length === 0 ? this.options : { ...this.options, seeds };
    host.node = new GossipNode({
      identity: { name: host.name, generation: EPOCH_MS + this.now + host.restarts, address: host.address },
      options,
      random: this.#random.fork(),
      frameOverheadBytes: codec.overheadBytes,
      strings: this.#strings,
    });
    host.node.listenTo(this.#eventTypes);
    host.runner = new Runner({
      node: host.node,
      transport: host.openTransport(options.datagramBytesMax),
      scheduler: host,
      codec,
      onEvent: (event) => {
        for (const listener of this.#listeners) listener(host, event);
      },
    });
  }

  liveHosts(): SimHost[] {
    return this.hosts.filter((host) => host.state === 'running' || host.state === 'stalled');
  }

  /**
   * Starts every host already knowing every other, as if each had just completed a full sync: the state a
   * settled cluster is in, without simulating N joins. The list arrives as an ordinary `sync` message.
   */
  startSettled(): void {
    const members: MemberEntry[] = this.hosts.map((host) => ({
      name: host.name,
      generation: host.node.generation,
      address: host.address,
      heartbeat: 0,
      status: 'alive',
      maxVersion: 0,
      verdict: null,
    }));
    // In key order, as a node would send its own list.
    members.sort((a, b) => memberKey(a.name) - memberKey(b.name) || (a.name < b.name ? -1 : 1));
    const sync: SyncMessage = { type: 'sync', sender: members[0]!, replyWanted: false, members, deltas: [] };
    for (const host of this.hosts) {
      host.runner.start();
      this.#deliverDecoded(host, sync);
    }
  }

  /** Starts every host knowing only the seeds: joins happen through the protocol itself. */
  startWithSeeds(seedCount: number): void {
    const seeds = this.hosts.slice(0, Math.max(1, seedCount)).map((host) => host.address);
    for (const host of this.hosts) {
      this.#boot(host, seeds);
      host.runner.start();
    }
  }

  #deliverDecoded(host: SimHost, message: Message): void {
    // Bootstrap only: hands the same decoded message to every host instead of decoding it N times.
    host.runner.receiveMessage('stream', message, hostAddress(0));
  }

  runFor(durationMs: number, shouldStop?: () => boolean): void {
    this.queue.runUntil(this.now + durationMs, shouldStop);
  }

  crash(index: number, mode: 'process' | 'host' = 'process'): void {
    const host = this.hosts[index]!;
    this.faulted.add(host.name);
    host.crash(mode);
  }

  /** Restarts a crashed host with a higher generation; it rejoins through the given seeds. */
  restart(index: number, seeds: readonly string[]): void {
    const host = this.hosts[index]!;
    host.restarts++;
    host.state = 'running';
    this.#boot(
      host,
      seeds.filter((seed) => seed !== host.address),
    );
    host.runner.start();
  }

  stall(index: number, durationMs: number): void {
    const host = this.hosts[index]!;
    this.faulted.add(host.name);
    host.stall(durationMs);
  }

  partition(groups: readonly (readonly number[])[]): void {
    for (const group of groups) for (const index of group) this.faulted.add(this.hosts[index]!.name);
    this.network.partition(groups.map((group) => group.map((index) => this.hosts[index]!.address)));
  }

  cut(from: number, to: number): void {
    this.faulted.add(this.hosts[from]!.name);
    this.faulted.add(this.hosts[to]!.name);
    this.network.cut(this.hosts[from]!.address, this.hosts[to]!.address);
  }

  heal(): void {
    this.network.heal();
  }

  set(index: number, key: string, value: string): void {
    const host = this.hosts[index]!;
    host.runner.command({ kind: 'set', now: this.now, key, value });
  }
}

/** A host's pending wake-up: one queued object per timer (see QueueAction). */
class HostTimer {
  readonly #host: SimHost;
  readonly #token: number;
  readonly #wake: () => void;

  constructor(host: SimHost, token: number, wake: () => void) {
    this.#host = host;
    this.#token = token;
    this.#wake = wake;
  }

  fire(): void {
    this.#host.timerDue(this.#token, this.#wake);
  }
}
