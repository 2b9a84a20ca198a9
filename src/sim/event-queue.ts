/**
 * The simulator's clock and agenda: a min-heap of timed actions, ordered by (time, insertion sequence) so
 * that simultaneous events fire in a fixed order and a run replays exactly. Each entry has four children
 * rather than two: half the levels, so a pop of one of a thousand or so waiting events takes about five
 * steps instead of ten, each step's comparisons reading neighbouring numbers.
 *
 * The heap keeps its keys in two typed arrays beside the array of actions, so that sifting compares numbers
 * in contiguous memory instead of chasing a pointer to an object per comparison: with 1,000 simulated nodes
 * about a thousand events wait at any time, a pop compares about twenty of them, and objects allocated at
 * scattered moments were a cache miss each.
 */

/**
 * What the queue runs at its time: a function, or an object whose `fire` it calls. The hot events (every
 * datagram, every timer) are objects of their own class: one object each, where a closure is two (the
 * function and its context), and so one cache miss less when it fires long after it was made.
 */
export type QueueAction = (() => void) | { fire(): void };

export class EventQueue {
  #times = new Float64Array(1024);
  #sequences = new Float64Array(1024);
  #actions: QueueAction[] = [];
  #length = 0;
  #sequence = 0;
  #now = 0;
  fired = 0;

  get now(): number {
    return this.#now;
  }

  get size(): number {
    return this.#length;
  }

  at(time: number, action: QueueAction): void {
    if (!(time >= this.#now)) throw new RangeError(`cannot schedule in the past: ${time} < ${this.#now}`);
    if (this.#length === this.#times.length) this.#grow();
    const times = this.#times;
    const sequences = this.#sequences;
    const actions = this.#actions;
    const sequence = this.#sequence++;
    let index = this.#length++;
    while (index > 0) {
      const parent = (index - 1) >> 2;
      const parentTime = times[parent]!;
      if (!(time < parentTime || (time === parentTime && sequence < sequences[parent]!))) break;
      times[index] = parentTime;
      sequences[index] = sequences[parent]!;
      actions[index] = actions[parent]!;
      index = parent;
    }
    times[index] = time;
    sequences[index] = sequence;
    actions[index] = action;
  }

  after(delayMs: number, action: QueueAction): void {
    this.at(this.#now + delayMs, action);
  }

  /** Fires events in order until the next one is later than `time`; the clock then reads `time`. */
  runUntil(time: number, shouldStop?: () => boolean): void {
    while (this.#length > 0 && this.#times[0]! <= time) {
      this.#now = this.#times[0]!;
      const action = this.#pop();
      this.fired++;
      if (typeof action === 'function') action();
      else action.fire();
      if (shouldStop?.()) return;
    }
    if (time > this.#now) this.#now = time;
  }

  /** Removes the earliest event and returns its action. */
  #pop(): QueueAction {
    const times = this.#times;
    const sequences = this.#sequences;
    const actions = this.#actions;
    const top = actions[0]!;
    const length = --this.#length;
    if (length > 0) {
      // Sift the last event down from the root.
      const lastTime = times[length]!;
      const lastSequence = sequences[length]!;
      const lastAction = actions[length]!;
      let index = 0;
      for (;;) {
        const first = 4 * index + 1;
        if (first >= length) break;
        // The earliest of up to four children.
        let child = first;
        let childTime = times[first]!;
        const end = Math.min(first + 4, length);
        for (let other = first + 1; other < end; other++) {
          const otherTime = times[other]!;
          if (otherTime < childTime || (otherTime === childTime && sequences[other]! < sequences[child]!)) {
            child = other;
            childTime = otherTime;
          }
        }
        if (!(childTime < lastTime || (childTime === lastTime && sequences[child]! < lastSequence))) break;
        times[index] = childTime;
        sequences[index] = sequences[child]!;
        actions[index] = actions[child]!;
        index = child;
      }
      times[index] = lastTime;
      sequences[index] = lastSequence;
      actions[index] = lastAction;
    }
    // Drop the reference so that a fired action and what it holds can be collected.
    actions[length] = noop;
    return top;
  }

  #grow(): void {
    const times = new Float64Array(this.#times.length * 2);
    times.set(this.#times);
    this.#times = times;
    const sequences = new Float64Array(this.#sequences.length * 2);
    sequences.set(this.#sequences);
    this.#sequences = sequences;
  }
}

function noop(): void {}
