/**
 * The simulator's agenda fires events in (time, scheduling order) whatever the order they were scheduled
 * in, including events scheduled while others fire and ties on time: the replay guarantee rests on it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { EventQueue } from '../../src/sim/event-queue.js';

interface Planned {
  readonly delay: number;
  /** Events this one schedules when it fires, as delays from its own time. */
  readonly children: readonly number[];
}

const delay = fc.oneof(fc.integer({ min: 0, max: 20 }), fc.double({ min: 0, max: 20, noNaN: true }));
const planned: fc.Arbitrary<Planned> = fc.record({ delay, children: fc.array(delay, { maxLength: 3 }) });

test('events fire in (time, scheduling order), children included', () => {
  fc.assert(
    fc.property(fc.array(planned, { minLength: 1, maxLength: 300 }), (plan) => {
      const queue = new EventQueue();
      // The model: every scheduled event with its time and a global scheduling sequence.
      const scheduled: { time: number; sequence: number; id: string }[] = [];
      const fired: string[] = [];
      let sequence = 0;
      const schedule = (time: number, id: string, children: readonly number[]) => {
        scheduled.push({ time, sequence: sequence++, id });
        queue.at(time, () => {
          assert.equal(queue.now, time);
          fired.push(id);
          for (const [index, child] of children.entries()) schedule(time + child, `${id}.${index}`, []);
        });
      };
      for (const [index, event] of plan.entries()) schedule(event.delay, String(index), event.children);
      queue.runUntil(Number.POSITIVE_INFINITY);
      const expected = [...scheduled]
        .sort((a, b) => a.time - b.time || a.sequence - b.sequence)
        .map((event) => event.id);
      assert.deepEqual(fired, expected);
      assert.equal(queue.size, 0);
      assert.equal(queue.fired, scheduled.length);
    }),
    { numRuns: 200 },
  );
});

test('runUntil stops at the bound, leaves later events queued and sets the clock to the bound', () => {
  const queue = new EventQueue();
  const fired: number[] = [];
  for (const time of [5, 1, 9, 3, 7]) queue.at(time, () => fired.push(time));
  queue.runUntil(6);
  assert.deepEqual(fired, [1, 3, 5]);
  assert.equal(queue.now, 6);
  assert.equal(queue.size, 2);
  assert.throws(() => queue.at(5, () => {}), RangeError);
  queue.runUntil(100);
  assert.deepEqual(fired, [1, 3, 5, 7, 9]);
});

test('the agenda grows past its initial capacity', () => {
  const queue = new EventQueue();
  const fired: number[] = [];
  for (let i = 0; i < 5000; i++) queue.at((i * 7919) % 5000, () => fired.push(i));
  queue.runUntil(Number.POSITIVE_INFINITY);
  assert.equal(fired.length, 5000);
  for (let i = 1; i < fired.length; i++)
    assert.ok((fired[i - 1]! * 7919) % 5000 <= (fired[i]! * 7919) % 5000);
});
