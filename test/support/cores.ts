/**
 * A manual-clock network of protocol cores for unit and property tests: no transport, no runner, no wall
 * clock. It owns the clock, the queue of deliveries between cores, the seeded fault rule (drop, duplicate,
 * reorder), partitions (`blocked`), crashed and paused cores, probe answers, and the events each core
 * emitted. Every log and queue in it is bounded.
 *
 * Invariants it keeps (and checks on every send, throwing on a breach so the test fails at the culprit):
 * - every message is round-tripped through the real codec (`decode(encode(message))`) before delivery;
 * - every datagram payload fits the sender's `payloadBudgetBytes`;
 * - time only moves forward, and deliveries are instantaneous: a message is delivered at the time it was
 *   sent, in an order the seeded fault rule chooses.
 */
import {
  type Channel,
  type ClusterEvent,
  type ClusterEventType,
  GossipNode,
  type Input,
  type MemberView,
  memberKey,
  type Output,
  type ProbeOutcome,
  resolveGossipOptions,
  SeededRandom,
} from '../../src/core/index.js';
import { decode, encode, type MemberEntry, type Message } from '../../src/wire/index.js';

/** Frame header bytes the tests assume the shell adds around each datagram payload. */
export const FRAME_OVERHEAD_BYTES = 20;

export interface CoreSpec {
  readonly name: string;
  /** Defaults to 1. */
  readonly generation?: number;
  /** Defaults to `${name}:1`. */
  readonly address?: string;
  /** Gossip options for this core, over the network's defaults. */
  readonly options?: Readonly<Record<string, unknown>>;
  /** Seed of the core's random source; defaults to one derived from the network's seed. */
  readonly seed?: number;
}

/** What the seeded rule does to deliveries: drop and duplicate datagrams, and pick delivery order. */
export interface FaultRule {
  /** Chance that a datagram or stream message is lost. */
  readonly dropRate: number;
  /** Chance that a datagram is delivered twice (streams never are: TCP does not duplicate). */
  readonly duplicateRate: number;
  /** Deliver pending messages in a random order instead of the order they were sent. */
  readonly reorder: boolean;
}

export const RELIABLE: FaultRule = { dropRate: 0, duplicateRate: 0, reorder: false };

interface MessageDelivery {
  readonly kind: 'message';
  readonly from: string;
  readonly to: string;
  readonly channel: Channel;
  readonly message: Message;
}

interface ProbeDelivery {
  readonly kind: 'probe-result';
  /** The node that asked. */
  readonly to: string;
  readonly address: string;
  readonly outcome: ProbeOutcome;
}

type Delivery = MessageDelivery | ProbeDelivery;

export interface SentRecord {
  readonly atMs: number;
  readonly from: string;
  readonly to: string;
  readonly channel: Channel;
  readonly message: Message;
  /** Encoded size of the message code and body. */
  readonly bytes: number;
}

const SENT_LOG_MAX = 20_000;
const EVENTS_PER_NODE_MAX = 50_000;
const DELIVERIES_PER_FLUSH_MAX = 200_000;
const PENDING_MAX = 100_000;
const TICKS_PER_RUN_MAX = 1_000_000;

export interface CoreNetworkInit {
  /** Gossip options every core starts from. */
  readonly options?: Readonly<Record<string, unknown>>;
  /** Seed of the fault rule and of the cores' default seeds. */
  readonly seed?: number;
}

export class CoreNetwork {
  now = 0;
  faults: FaultRule = RELIABLE;
  /** Deliveries for which this returns true are lost (a partition or a cut link); probes then time out. */
  blocked: (from: string, to: string) => boolean = () => false;
  /**
   * How a probe from `from` of address `to` ends; null leaves it unanswered (a test answers it by hand).
   * By default: refused when nothing runs at the address, reachable otherwise, timeout when blocked.
   */
  probeOutcome: (from: string, to: string) => ProbeOutcome | null = (from, to) => {
    if (this.blocked(from, to)) return 'timeout';
    return this.nodes.has(to) ? 'reachable' : 'refused';
  };
  /** Called after every step of a core (tests check per-step invariants here). */
  afterStep: (node: GossipNode, input: Input) => void = () => {};

  readonly stats = { datagrams: 0, streams: 0, dropped: 0, duplicated: 0, largestDatagramBytes: 0 };
  /** Sends, oldest first; a long run keeps at least the most recent 10,000 of them. */
  readonly sent: SentRecord[] = [];
  /** Probes the cores asked for, oldest first (bounded like `sent`). */
  readonly probes: { atMs: number; from: string; to: string }[] = [];

  /** Running cores by address; a crashed core is removed. */
  readonly nodes = new Map<string, GossipNode>();
  readonly #defaults: Readonly<Record<string, unknown>>;
  readonly #random: SeededRandom;
  #events = new Map<string, ClusterEvent[]>();
  #pending: Delivery[] = [];
  /** Paused cores and the deliveries held for them (a stalled process: the host buffers, nobody reads). */
  #paused = new Map<string, Delivery[]>();

  constructor(init: CoreNetworkInit = {}) {
    this.#defaults = init.options ?? {};
    this.#random = new SeededRandom(init.seed ?? 1);
  }

  /** Creates a core (not started yet). Its address must be free. */
  add(spec: CoreSpec): GossipNode {
    const address = spec.address ?? `${spec.name}:1`;
    if (this.nodes.has(address)) throw new Error(`address ${address} is taken`);
    const { options, issues } = resolveGossipOptions({ ...this.#defaults, ...spec.options });
    if (issues.length > 0) {
      throw new Error(`bad options: ${issues.map((issue) => `${issue.path} ${issue.message}`).join('; ')}`);
    }
    const node = new GossipNode({
      identity: { name: spec.name, generation: spec.generation ?? 1, address },
      options,
      random: new SeededRandom(spec.seed ?? this.#random.nextUint32()),
      frameOverheadBytes: FRAME_OVERHEAD_BYTES,
    });
    this.nodes.set(address, node);
    return node;
  }

  node(address: string): GossipNode {
    const node = this.nodes.get(address);
    if (node === undefined) throw new Error(`no core at ${address}`);
    return node;
  }

  /** Feeds one input (stamped with the current time) to a core and routes what it outputs. */
  step(address: string, input: DistributiveOmit<Input, 'now'>): readonly Output[] {
    const node = this.node(address);
    const stamped = { ...input, now: this.now } as Input;
    const outputs = node.step(stamped);
    this.afterStep(node, stamped);
    this.#route(node, outputs);
    return outputs;
  }

  start(...addresses: string[]): void {
    for (const address of addresses) this.step(address, { kind: 'start' });
  }

  set(address: string, key: string, value: string): readonly Output[] {
    return this.step(address, { kind: 'set', key, value });
  }

  delete(address: string, key: string): readonly Output[] {
    return this.step(address, { kind: 'delete', key });
  }

  /** Stops a core without a word: deliveries to it are lost, and probes of its address are refused. */
  crash(address: string): void {
    this.node(address);
    this.nodes.delete(address);
    this.#paused.delete(address);
    this.#pending = this.#pending.filter((delivery) => delivery.to !== address);
  }

  /**
   * Stalls a core: it is not ticked and what is sent to it is held, as a host buffers datagrams for a
   * process that does not run. Probes of it still find it reachable.
   */
  pause(address: string): void {
    this.node(address);
    if (!this.#paused.has(address)) this.#paused.set(address, []);
  }

  /** Ends a stall; the held deliveries are delivered by the next flush, after whatever the test feeds first. */
  resume(address: string): void {
    const held = this.#paused.get(address) ?? [];
    this.#paused.delete(address);
    for (const delivery of held) this.#enqueue(delivery);
  }

  /** Delivers pending messages (and whatever they cause) until none is left. */
  flush(): void {
    let deliveries = 0;
    while (this.#pending.length > 0) {
      if (++deliveries > DELIVERIES_PER_FLUSH_MAX) throw new Error('flush does not settle');
      const index = this.faults.reorder ? this.#random.int(this.#pending.length) : 0;
      const [delivery] = this.#pending.splice(index, 1);
      this.#deliver(delivery!);
    }
  }

  /** Earliest wake-up any core asked for (Infinity when none). */
  nextWakeAt(): number {
    let earliest = Number.POSITIVE_INFINITY;
    for (const [address, node] of this.nodes) {
      if (!this.#paused.has(address)) earliest = Math.min(earliest, node.nextWakeAt());
    }
    return earliest;
  }

  /** Moves the clock to the next wake-up (if it is not after `limitMs`), ticks the cores due, and flushes. */
  advance(limitMs = Number.POSITIVE_INFINITY): boolean {
    this.flush();
    const next = this.nextWakeAt();
    if (next > limitMs) return false;
    this.now = Math.max(this.now, next);
    for (const [address, node] of [...this.nodes]) {
      const due = this.nodes.get(address) === node && !this.#paused.has(address);
      if (due && node.nextWakeAt() <= this.now) this.step(address, { kind: 'tick' });
    }
    this.flush();
    return true;
  }

  /** Runs every wake-up up to `timeMs`, then sets the clock to it. */
  runUntil(timeMs: number): void {
    let ticks = 0;
    while (this.advance(timeMs)) {
      if (++ticks > TICKS_PER_RUN_MAX) throw new Error('runUntil does not progress');
    }
    this.now = Math.max(this.now, timeMs);
  }

  runFor(durationMs: number): void {
    this.runUntil(this.now + durationMs);
  }

  /** Events a core at `address` emitted, oldest first (all its incarnations). */
  events(address: string): readonly ClusterEvent[] {
    return this.#events.get(address) ?? [];
  }

  eventsOfType<T extends ClusterEventType>(address: string, type: T): Extract<ClusterEvent, { type: T }>[] {
    return this.events(address).filter((event): event is Extract<ClusterEvent, { type: T }> => {
      return event.type === type;
    });
  }

  clearEvents(): void {
    this.#events.clear();
  }

  /** Whether every running core holds the same view (members, statuses, versions and state). */
  viewsAgree(): boolean {
    const checksums = new Set([...this.nodes.values()].map((node) => node.viewChecksum()));
    return checksums.size <= 1;
  }

  /** Runs until every running core holds the same view, or throws after `limitMs` of cluster time. */
  runUntilAgreed(limitMs = 60_000): void {
    const deadline = this.now + limitMs;
    this.flush();
    while (!this.viewsAgree()) {
      if (!this.advance(deadline)) throw new Error(`views still differ after ${limitMs} ms`);
    }
  }

  #route(node: GossipNode, outputs: readonly Output[]): void {
    for (const output of outputs) {
      switch (output.kind) {
        case 'send':
          this.#send(node, output.to, output.channel, output.message);
          break;
        case 'probe':
          this.#probe(node.address, output.to);
          break;
        case 'event':
          this.#recordEvent(node.address, output.event);
          break;
      }
    }
  }

  #send(node: GossipNode, to: string, channel: Channel, message: Message): void {
    const bytes = encode(message);
    if (channel === 'datagram' && bytes.length > node.payloadBudgetBytes) {
      throw new Error(
        `${node.name} sent a ${message.type} datagram of ${bytes.length} bytes, over its budget of ` +
          `${node.payloadBudgetBytes}`,
      );
    }
    const decoded = decode(bytes);
    if (!decoded.ok)
      throw new Error(`${node.name} sent a ${message.type} that does not decode: ${decoded.reason}`);
    if (channel === 'datagram') {
      this.stats.datagrams++;
      this.stats.largestDatagramBytes = Math.max(this.stats.largestDatagramBytes, bytes.length);
    } else {
      this.stats.streams++;
    }
    pushBounded(this.sent, {
      atMs: this.now,
      from: node.address,
      to,
      channel,
      message: decoded.value,
      bytes: bytes.length,
    });
    if (this.blocked(node.address, to) || this.#random.next() < this.faults.dropRate) {
      this.stats.dropped++;
      return;
    }
    const delivery: MessageDelivery = {
      kind: 'message',
      from: node.address,
      to,
      channel,
      message: decoded.value,
    };
    this.#enqueue(delivery);
    if (channel === 'datagram' && this.#random.next() < this.faults.duplicateRate) {
      this.stats.duplicated++;
      this.#enqueue(delivery);
    }
  }

  #probe(from: string, to: string): void {
    pushBounded(this.probes, { atMs: this.now, from, to });
    const outcome = this.probeOutcome(from, to);
    if (outcome !== null) this.#enqueue({ kind: 'probe-result', to: from, address: to, outcome });
  }

  #enqueue(delivery: Delivery): void {
    if (this.#pending.length >= PENDING_MAX) throw new Error('too many deliveries pending');
    this.#pending.push(delivery);
  }

  #deliver(delivery: Delivery): void {
    if (!this.nodes.has(delivery.to)) return;
    const held = this.#paused.get(delivery.to);
    if (held !== undefined) {
      if (held.length >= PENDING_MAX) throw new Error('too many deliveries held for a paused core');
      held.push(delivery);
      return;
    }
    if (delivery.kind === 'probe-result') {
      this.step(delivery.to, { kind: 'probe-result', address: delivery.address, outcome: delivery.outcome });
      return;
    }
    this.step(delivery.to, { kind: delivery.channel, from: delivery.from, message: delivery.message });
  }

  #recordEvent(address: string, event: ClusterEvent): void {
    let list = this.#events.get(address);
    if (list === undefined) {
      list = [];
      this.#events.set(address, list);
    }
    if (list.length >= EVENTS_PER_NODE_MAX) list.shift();
    list.push(event);
  }
}

/** What a node would say about a member, from its view of it, with `changes` applied (to forge gossip). */
export function entryOf(view: MemberView, changes: Partial<MemberEntry> = {}): MemberEntry {
  return {
    name: view.name,
    generation: view.generation,
    address: view.address,
    heartbeat: view.heartbeat,
    status: view.status,
    maxVersion: view.maxVersion,
    verdict: view.verdict,
    ...changes,
  };
}

/** `Omit` applied to each member of a union, so `step(address, { kind: 'set', ... })` type-checks. */
type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

/** Appends to a log that keeps between half and all of SENT_LOG_MAX recent items (cheap to trim). */
function pushBounded<T>(list: T[], item: T): void {
  if (list.length >= SENT_LOG_MAX) list.splice(0, SENT_LOG_MAX / 2);
  list.push(item);
}

/**
 * A started cluster of cores named `names`, each at `${name}:1`, in which every core has joined through the
 * first one (a `join` command, one after another), at time 0.
 */
export function joinedCluster(
  names: readonly string[],
  init: CoreNetworkInit = {},
): { network: CoreNetwork; addresses: string[] } {
  const network = new CoreNetwork(init);
  const addresses = names.map((name) => `${name}:1`);
  const first = addresses[0]!;
  for (const name of names) network.add({ name });
  network.start(...addresses);
  for (const address of addresses.slice(1)) {
    network.step(address, { kind: 'join', addresses: [first] });
    network.flush();
  }
  return { network, addresses };
}

let collision: [string, string] | undefined;

/**
 * Two distinct names with the same 32-bit member key, found by a birthday search over about 2^16 random
 * names. Collisions are real at scale, and the member order and digest pages must handle them. The names
 * are random letters because FNV-1a does not collide on short runs of numbered names ("member-1",
 * "member-2", ...): their bytes differ too little. The result is deterministic and cached.
 */
export function findKeyCollision(): [string, string] {
  if (collision !== undefined) return collision;
  const random = new SeededRandom(0x5eed);
  const seen = new Map<number, string>();
  for (let tries = 0; tries < 1 << 20; tries++) {
    let name = 'node-';
    for (let i = 0; i < 8; i++) name += String.fromCharCode(97 + random.int(26));
    const key = memberKey(name);
    const earlier = seen.get(key);
    if (earlier !== undefined && earlier !== name) {
      collision = earlier < name ? [earlier, name] : [name, earlier];
      return collision;
    }
    seen.set(key, name);
  }
  throw new Error('no key collision among 2^20 random names');
}
