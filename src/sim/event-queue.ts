/**
 * The simulator's clock and agenda: a binary min-heap of timed actions, ordered by (time, insertion
 * sequence) so that simultaneous events fire in a fixed order and a run replays exactly.
 */

interface Scheduled {
  time: number;
  sequence: number;
  action: () => void;
}

export class EventQueue {
  #heap: Scheduled[] = [];
  #sequence = 0;
  #now = 0;
  fired = 0;

  get now(): number {
    return this.#now;
  }

  get size(): number {
    return this.#heap.length;
  }

  at(time: number, action: () => void): void {
    if (!(time >= this.#now)) throw new RangeError(`cannot schedule in the past: ${time} < ${this.#now}`);
    const item: Scheduled = { time, sequence: this.#sequence++, action };
    const heap = this.#heap;
    heap.push(item);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(item, heap[parent]!)) break;
      heap[index] = heap[parent]!;
      index = parent;
    }
    heap[index] = item;
  }

  after(delayMs: number, action: () => void): void {
    this.at(this.#now + delayMs, action);
  }

  /** Fires events in order until the next one is later than `time`; the clock then reads `time`. */
  runUntil(time: number, shouldStop?: () => boolean): void {
    const heap = this.#heap;
    while (heap.length > 0 && heap[0]!.time <= time) {
      const item = this.#pop();
      this.#now = item.time;
      this.fired++;
      item.action();
      if (shouldStop?.()) return;
    }
    if (time > this.#now) this.#now = time;
  }

  #pop(): Scheduled {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let index = 0;
      const length = heap.length;
      for (;;) {
        const left = 2 * index + 1;
        if (left >= length) break;
        const right = left + 1;
        const child = right < length && before(heap[right]!, heap[left]!) ? right : left;
        if (!before(heap[child]!, last)) break;
        heap[index] = heap[child]!;
        index = child;
      }
      heap[index] = last;
    }
    return top;
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.time < b.time || (a.time === b.time && a.sequence < b.sequence);
}
