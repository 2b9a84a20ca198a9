/**
 * PeerKnowledge is a reusable Map from slot to what a peer reported: the same entries, in the same order
 * (first insertion), a later report on a slot replacing the earlier one in place; also past the size where
 * it switches from scanning to an index, and after clear().
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { PeerKnowledge } from '../../src/core/knowledge.js';

interface Report {
  readonly generation: number;
  readonly version: number;
  readonly stale: boolean;
}

function contents(list: PeerKnowledge): [number, Report][] {
  return Array.from({ length: list.length }, (_, i) => [
    list.slotAt(i),
    { generation: list.generationAt(i), version: list.versionAt(i), stale: list.staleLivenessAt(i) },
  ]);
}

test('behaves as a Map in insertion order across clears and sizes (property)', () => {
  const report = fc.record({
    slot: fc.integer({ min: 0, max: 60 }),
    generation: fc.integer({ min: -1, max: 5 }),
    version: fc.integer({ min: 0, max: 100 }),
    stale: fc.boolean(),
  });
  const exchange = fc.array(report, { maxLength: 80 });
  fc.assert(
    fc.property(
      fc.array(exchange, { minLength: 1, maxLength: 4 }),
      fc.integer({ min: 0, max: 60 }),
      (exchanges, probe) => {
        const list = new PeerKnowledge();
        for (const reports of exchanges) {
          list.clear();
          const model = new Map<number, Report>();
          for (const { slot, generation, version, stale } of reports) {
            list.set(slot, generation, version, stale);
            model.set(slot, { generation, version, stale });
          }
          assert.deepEqual(contents(list), [...model]);
          assert.equal(list.has(probe), model.has(probe));
        }
      },
    ),
    { numRuns: 300 },
  );
});
