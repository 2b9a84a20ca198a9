/**
 * The bounded async iterator behind `node.events()`: events wait in a buffer of fixed capacity; a consumer
 * that falls behind loses the oldest and receives one `events-dropped` marker in their place, so memory stays
 * bounded and the gap is never silent.
 */
import type { ClusterEvent, ClusterEventType } from '../core/index.js';

/** The marker an event iterator yields in place of events it dropped because its buffer was full. */
export interface EventsDropped {
  readonly type: 'events-dropped';
  readonly atMs: number;
  /** How many events were dropped (the oldest ones) since the previous marker. */
  readonly count: number;
}

export type NodeEvent = ClusterEvent | EventsDropped;

export class EventIterator implements AsyncIterableIterator<NodeEvent> {
  readonly #capacity: number;
  readonly #types: ReadonlySet<ClusterEventType> | null;
  readonly #onClose: (iterator: EventIterator) => void;
  readonly #onDrop: () => void;
  #buffer: ClusterEvent[] = [];
  #dropped = 0;
  #closed = false;
  #waiting: ((result: IteratorResult<NodeEvent>) => void) | null = null;

  constructor(init: {
    capacity: number;
    types: ReadonlySet<ClusterEventType> | null;
    onClose: (iterator: EventIterator) => void;
    onDrop: () => void;
  }) {
    this.#capacity = init.capacity;
    this.#types = init.types;
    this.#onClose = init.onClose;
    this.#onDrop = init.onDrop;
  }

  push(event: ClusterEvent): void {
    if (this.#closed || (this.#types !== null && !this.#types.has(event.type))) return;
    if (this.#waiting !== null) {
      const resolve = this.#waiting;
      this.#waiting = null;
      resolve({ done: false, value: event });
      return;
    }
    if (this.#buffer.length >= this.#capacity) {
      // Drop the oldest: a consumer that fell behind cares most about the present, and learns of the gap.
      this.#buffer.shift();
      this.#dropped++;
      this.#onDrop();
    }
    this.#buffer.push(event);
  }

  next(): Promise<IteratorResult<NodeEvent>> {
    if (this.#dropped > 0) {
      const count = this.#dropped;
      this.#dropped = 0;
      const atMs = this.#buffer[0]?.atMs ?? 0;
      return Promise.resolve({ done: false, value: { type: 'events-dropped', atMs, count } });
    }
    const event = this.#buffer.shift();
    if (event !== undefined) return Promise.resolve({ done: false, value: event });
    if (this.#closed) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  /** Ends the iteration (a `for await` loop that breaks calls it); buffered events are discarded. */
  return(): Promise<IteratorResult<NodeEvent>> {
    this.close();
    this.#buffer = [];
    return Promise.resolve({ done: true, value: undefined });
  }

  /** Ends the iteration once buffered events are consumed (the node stopped). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose(this);
    if (this.#waiting !== null) {
      const resolve = this.#waiting;
      this.#waiting = null;
      resolve({ done: true, value: undefined });
    }
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<NodeEvent> {
    return this;
  }
}
