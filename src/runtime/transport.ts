/**
 * The small interface every transport implements (UDP+TCP, in-memory, simulated), so the runner does not
 * care which network it is on. Datagrams are best effort and at most `datagramBytesMax` long; streams are
 * reliable, ordered and carry one frame each; probes ask whether an address still accepts connections.
 */
import type { ProbeOutcome } from '../core/index.js';

export interface TransportHandlers {
  onDatagram(bytes: Uint8Array, from: string): void;
  onStream(bytes: Uint8Array, from: string): void;
  onProbeResult(address: string, outcome: ProbeOutcome): void;
}

export interface Transport {
  /** The address peers should use to reach this transport (host:port). */
  readonly localAddress: string;
  /** Starts delivering inbound traffic to `handlers`. Called once, before any send. */
  attach(handlers: TransportHandlers): void;
  sendDatagram(to: string, bytes: Uint8Array): void;
  sendStream(to: string, bytes: Uint8Array): void;
  probe(to: string): void;
  close(): Promise<void>;
}

/** Time and wake-ups: real timers in the runtime, virtual time in the simulator. */
export interface Scheduler {
  now(): number;
  /** Wake the runner at `timeMs` (Infinity: never), replacing any earlier request. */
  wakeAt(timeMs: number, wake: () => void): void;
  cancel(): void;
}
