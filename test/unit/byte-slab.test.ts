/**
 * The codec's byte slab hands out arrays that behave like fresh allocations: zeroed, of the asked length,
 * never overlapping an array handed out before (so a frame still in flight is never overwritten), across
 * slab boundaries and for requests too large for a slab; and what a page builder writes but does not claim
 * is zero again for the next taker.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { freshBytes, slabOffset, slabWithRoom, takeBytes } from '../../src/wire/index.js';

function overlaps(a: Uint8Array, b: Uint8Array): boolean {
  if (a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length;
}

test('fresh arrays are zeroed, exactly as long as asked, and never overlap (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 9000 }), { minLength: 1, maxLength: 60 }), (lengths) => {
      const handed: Uint8Array[] = [];
      for (const length of lengths) {
        const bytes = freshBytes(length);
        assert.equal(bytes.length, length);
        assert.ok(
          bytes.every((byte) => byte === 0),
          'a fresh array is zeroed',
        );
        for (const earlier of handed) assert.ok(!overlaps(bytes, earlier), 'ranges never overlap');
        // Scribble over it, as an encoder would: nothing handed out later may see these bytes.
        bytes.fill(0xab);
        handed.push(bytes);
      }
      for (const bytes of handed)
        assert.ok(
          bytes.every((byte) => byte === 0xab),
          'no array was reused',
        );
    }),
    { numRuns: 100 },
  );
});

test('room taken and partly claimed leaves a zeroed, unshared remainder', () => {
  const slab = slabWithRoom(100);
  const base = slabOffset();
  slab.fill(7, base, base + 40);
  const claimed = takeBytes(30);
  // The builder zeroes what it wrote past the claimed part, as the page builder does.
  slab.fill(0, base + 30, base + 40);
  assert.equal(claimed.length, 30);
  assert.ok(claimed.every((byte) => byte === 7));
  const next = freshBytes(20);
  assert.ok(!overlaps(next, claimed));
  assert.ok(next.every((byte) => byte === 0));
});
