/**
 * What goes into the core and what comes out of it. The core is a synchronous state machine: the shell feeds
 * it one `Input` at a time (each carrying the current time), and it answers with `Output`s as data.
 */
import type { Message } from '../wire/index.js';
import type { ClusterEvent } from './events.js';

/** How a direct reachability check of a member's address ended (see `probe` outputs). */
export type ProbeOutcome =
  /** Nothing listens at the address any more: the process is gone (hard evidence). */
  | 'refused'
  /** Something accepted the connection (the process exists, though it may be stalled). */
  | 'reachable'
  /** No answer in time: a partition, a dead host, or loss. Not evidence either way. */
  | 'timeout';

export type Input =
  | { readonly kind: 'start'; readonly now: number }
  | { readonly kind: 'tick'; readonly now: number }
  | { readonly kind: 'datagram'; readonly now: number; readonly from: string; readonly message: Message }
  | { readonly kind: 'stream'; readonly now: number; readonly from: string; readonly message: Message }
  | {
      readonly kind: 'probe-result';
      readonly now: number;
      readonly address: string;
      readonly outcome: ProbeOutcome;
    }
  /** The process did not run for `durationMs` before `now` (a GC pause, a blocked loop, SIGSTOP). */
  | { readonly kind: 'stall'; readonly now: number; readonly durationMs: number }
  | { readonly kind: 'set'; readonly now: number; readonly key: string; readonly value: string }
  | { readonly kind: 'delete'; readonly now: number; readonly key: string }
  | { readonly kind: 'join'; readonly now: number; readonly addresses: readonly string[] }
  | { readonly kind: 'leave'; readonly now: number };

export type Channel = 'datagram' | 'stream';

export type Output =
  | { readonly kind: 'send'; readonly to: string; readonly channel: Channel; readonly message: Message }
  /** Ask the runtime whether `to` still accepts connections; the answer comes back as a `probe-result`. */
  | { readonly kind: 'probe'; readonly to: string }
  | { readonly kind: 'event'; readonly event: ClusterEvent };

export type CommandErrorCode = 'KEY_INVALID' | 'VALUE_TOO_LARGE' | 'KEYS_FULL' | 'NOT_RUNNING';

/** A command (set, delete, join, leave) the core refused; nothing changed. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  readonly code: CommandErrorCode;
  constructor(code: CommandErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
