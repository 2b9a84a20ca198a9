/**
 * The runner: the thin shell around one GossipNode. It decodes inbound frames and feeds them to the core,
 * encodes and sends what the core outputs, delivers events after each step, keeps exactly one wake-up
 * scheduled at the core's next deadline, and tells the core when the process itself stalled. The real
 * runtime and the simulator both use this class; they differ only in the transport and scheduler.
 *
 * Nothing a peer sends can make it throw: undecodable frames are counted by reason and dropped.
 */
import {
  AssertionError,
  type ClusterEvent,
  type GossipNode,
  type Input,
  type Output,
  type ProbeOutcome,
} from '../core/index.js';
import type { Message } from '../wire/index.js';
import type { FrameCodec } from './frame-codec.js';
import type { Scheduler, Transport, TransportHandlers } from './transport.js';

export interface RunnerInit {
  readonly node: GossipNode;
  readonly transport: Transport;
  readonly scheduler: Scheduler;
  readonly codec: FrameCodec;
  /** Called with every event, after the step that produced it has returned. */
  readonly onEvent?: (event: ClusterEvent) => void;
  /** A wake-up this much later than asked means the process did not run: report it as a stall. */
  readonly stallThresholdMs?: number;
  /** Optional hook on every frame sent (the simulator uses it to count bytes). */
  readonly onSend?: (to: string, channel: 'datagram' | 'stream', bytes: Uint8Array, message: Message) => void;
}

export interface RunnerStats {
  datagramsSent: number;
  datagramBytesSent: number;
  datagramsReceived: number;
  datagramBytesReceived: number;
  streamsSent: number;
  streamBytesSent: number;
  streamsReceived: number;
  streamBytesReceived: number;
  largestDatagramBytes: number;
  stallsDetected: number;
  messagesSentByType: Record<Message['type'], number>;
  bytesSentByType: Record<Message['type'], number>;
  /** Frames that decoded, by message type (dropped frames are in `drops`). */
  messagesReceivedByType: Record<Message['type'], number>;
  bytesReceivedByType: Record<Message['type'], number>;
  /** Inbound frames dropped, by reason (bad-magic, wrong-cluster, authentication, truncated, ...). */
  drops: Record<string, number>;
}

/**
 * The runner is its own transport handlers object: the transport calls its methods directly, with no
 * closures in between (in a simulated cluster of 1,000 nodes, every object a delivery passes through is
 * usually a cache miss).
 */
export class Runner implements TransportHandlers {
  readonly node: GossipNode;
  readonly transport: Transport;
  #scheduler: Scheduler;
  #codec: FrameCodec;
  #onEvent: ((event: ClusterEvent) => void) | undefined;
  #onSend: RunnerInit['onSend'];
  #stallThresholdMs: number;
  #scheduledAtMs = Number.POSITIVE_INFINITY;
  /** End of the last stall reported, so that two detectors seeing one pause count it once. */
  #stallCoveredUntilMs = Number.NEGATIVE_INFINITY;
  #stopped = false;
  readonly #wake = () => this.wake();
  // Counters are fields of the runner and of two small objects made with it (`stats` copies them out):
  // every message sent and received counts, and in a simulated cluster each object a count reads is
  // usually a cache miss.
  #datagramsSent = 0;
  #datagramBytesSent = 0;
  #datagramsReceived = 0;
  #datagramBytesReceived = 0;
  #streamsSent = 0;
  #streamBytesSent = 0;
  #streamsReceived = 0;
  #streamBytesReceived = 0;
  #largestDatagramBytes = 0;
  #stallsDetected = 0;
  // By message type, in one small object per direction made with the runner.
  readonly #sent = new MessageCounts();
  readonly #received = new MessageCounts();
  readonly #drops: Record<string, number> = {};

  constructor(init: RunnerInit) {
    this.node = init.node;
    this.transport = init.transport;
    this.#scheduler = init.scheduler;
    this.#codec = init.codec;
    this.#onEvent = init.onEvent;
    this.#onSend = init.onSend;
    this.#stallThresholdMs = init.stallThresholdMs ?? 300;
    this.transport.attach(this);
  }

  /** A snapshot of the counters. */
  get stats(): RunnerStats {
    return {
      datagramsSent: this.#datagramsSent,
      datagramBytesSent: this.#datagramBytesSent,
      datagramsReceived: this.#datagramsReceived,
      datagramBytesReceived: this.#datagramBytesReceived,
      streamsSent: this.#streamsSent,
      streamBytesSent: this.#streamBytesSent,
      streamsReceived: this.#streamsReceived,
      streamBytesReceived: this.#streamBytesReceived,
      largestDatagramBytes: this.#largestDatagramBytes,
      stallsDetected: this.#stallsDetected,
      messagesSentByType: this.#sent.messages(),
      bytesSentByType: this.#sent.bytes(),
      messagesReceivedByType: this.#received.messages(),
      bytesReceivedByType: this.#received.bytes(),
      drops: { ...this.#drops },
    };
  }

  onDatagram(bytes: Uint8Array, from: string): void {
    this.receive('datagram', bytes, from);
  }

  onStream(bytes: Uint8Array, from: string): void {
    this.receive('stream', bytes, from);
  }

  get now(): number {
    return this.#scheduler.now();
  }

  start(): void {
    this.#step({ kind: 'start', now: this.now });
  }

  /** Feeds a command (set, delete, join, leave); throws the core's CommandError if it is refused. */
  command(input: Input): void {
    this.#step(input);
  }

  /** The timer fired. A late timer means the process was not running: tell the core before it judges. */
  wake(): void {
    if (this.#stopped) return;
    const now = this.now;
    const lateness = now - this.#scheduledAtMs;
    this.#scheduledAtMs = Number.POSITIVE_INFINITY;
    if (lateness > this.#stallThresholdMs) this.#stall(now, lateness);
    this.#step({ kind: 'tick', now });
  }

  /** A stall observed by other means (the runtime's event-loop monitor). */
  reportStall(durationMs: number): void {
    if (this.#stopped || !(durationMs > 0)) return;
    this.#stall(this.now, durationMs);
  }

  #stall(now: number, durationMs: number): void {
    // The late timer and the event-loop monitor often see the same pause: count and report only the part of
    // it no earlier report covered (the core would ignore the overlap anyway).
    const uncovered = Math.min(durationMs, now - this.#stallCoveredUntilMs);
    this.#stallCoveredUntilMs = now;
    if (uncovered <= this.#stallThresholdMs / 2) return;
    this.#stallsDetected++;
    this.#step({ kind: 'stall', now, durationMs: uncovered });
  }

  receive(channel: 'datagram' | 'stream', bytes: Uint8Array, from: string): void {
    if (this.#stopped) return;
    if (channel === 'datagram') {
      this.#datagramsReceived++;
      this.#datagramBytesReceived += bytes.length;
    } else {
      this.#streamsReceived++;
      this.#streamBytesReceived += bytes.length;
    }
    const opened = this.#codec.open(bytes);
    if (!opened.ok) {
      this.#drops[opened.reason] = (this.#drops[opened.reason] ?? 0) + 1;
      return;
    }
    if (channel === 'datagram' && opened.message.type === 'sync') {
      this.#drops['sync-over-datagram'] = (this.#drops['sync-over-datagram'] ?? 0) + 1;
      return;
    }
    this.#received.add(opened.message.type, bytes.length);
    this.#step({ kind: channel, now: this.now, from, message: opened.message });
  }

  /** Feeds a message that is already decoded (in-process transports; the simulator's bootstrap). */
  receiveMessage(channel: 'datagram' | 'stream', message: Message, from: string): void {
    if (this.#stopped) return;
    this.#step({ kind: channel, now: this.now, from, message });
  }

  onProbeResult(address: string, outcome: ProbeOutcome): void {
    if (this.#stopped) return;
    this.#step({ kind: 'probe-result', now: this.now, address, outcome });
  }

  /** Stops scheduling and ignores further input; the transport is closed by its owner. */
  stop(): void {
    this.#stopped = true;
    this.#scheduler.cancel();
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  #step(input: Input): void {
    const outputs = this.node.step(input);
    let events: ClusterEvent[] | null = null;
    for (const output of outputs) {
      if (output.kind !== 'event') this.#dispatch(output);
      else if (events === null) events = [output.event];
      else events.push(output.event);
    }
    this.#reschedule();
    if (events !== null && this.#onEvent !== undefined) for (const event of events) this.#onEvent(event);
  }

  #dispatch(output: Exclude<Output, { kind: 'event' }>): void {
    switch (output.kind) {
      case 'probe':
        this.transport.probe(output.to);
        return;
      case 'send': {
        const bytes = this.#codec.seal(output.message);
        const type = output.message.type;
        this.#sent.add(type, bytes.length);
        this.#onSend?.(output.to, output.channel, bytes, output.message);
        if (output.channel === 'datagram') {
          // Not assert(): its message would be formatted for every datagram.
          if (bytes.length > this.node.options.datagramBytesMax) {
            throw new AssertionError(`datagram of ${bytes.length} bytes exceeds datagramBytesMax`);
          }
          this.#datagramsSent++;
          this.#datagramBytesSent += bytes.length;
          if (bytes.length > this.#largestDatagramBytes) this.#largestDatagramBytes = bytes.length;
          this.transport.sendDatagram(output.to, bytes);
        } else {
          this.#streamsSent++;
          this.#streamBytesSent += bytes.length;
          this.transport.sendStream(output.to, bytes);
        }
        return;
      }
    }
  }

  #reschedule(): void {
    if (this.#stopped) return;
    const next = this.node.nextWakeAt();
    if (next === this.#scheduledAtMs) return;
    this.#scheduledAtMs = next;
    this.#scheduler.wakeAt(next, this.#wake);
  }
}

/** Messages and bytes by message type, for one direction. */
class MessageCounts {
  syn = 0;
  synBytes = 0;
  synAck = 0;
  synAckBytes = 0;
  ack = 0;
  ackBytes = 0;
  sync = 0;
  syncBytes = 0;
  heartbeat = 0;
  heartbeatBytes = 0;

  /**
   * Counts one message. Each type's fields are named in the code: indexing by a variable among five names
   * makes V8's property cache give up (megamorphic), and this runs for every message sent and received.
   */
  add(type: Message['type'], bytes: number): void {
    switch (type) {
      case 'syn':
        this.syn++;
        this.synBytes += bytes;
        return;
      case 'syn-ack':
        this.synAck++;
        this.synAckBytes += bytes;
        return;
      case 'ack':
        this.ack++;
        this.ackBytes += bytes;
        return;
      case 'sync':
        this.sync++;
        this.syncBytes += bytes;
        return;
      case 'heartbeat':
        this.heartbeat++;
        this.heartbeatBytes += bytes;
        return;
    }
  }

  messages(): Record<Message['type'], number> {
    return {
      syn: this.syn,
      'syn-ack': this.synAck,
      ack: this.ack,
      sync: this.sync,
      heartbeat: this.heartbeat,
    };
  }

  bytes(): Record<Message['type'], number> {
    return {
      syn: this.synBytes,
      'syn-ack': this.synAckBytes,
      ack: this.ackBytes,
      sync: this.syncBytes,
      heartbeat: this.heartbeatBytes,
    };
  }
}
