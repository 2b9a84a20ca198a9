/**
 * Fresh byte arrays for encoded frames and pages, carved from large buffers instead of allocated one by one.
 *
 * A `new Uint8Array(n)` above 64 bytes gets its own backing store outside the JavaScript heap, which costs
 * several times as much to create as a view into a buffer that already exists, and more work for the
 * collector. Every frame a node sends and every digest page it builds needs one, so the codec
 * takes them from a slab of 64 KiB, moving forward only: a range handed out is never handed out again, and a
 * slab is collected once no view into it is left. The views share their slab's `buffer`, so code that needs
 * the bytes of one array reads `byteOffset` and `length`, as for any typed array.
 */

const SLAB_BYTES = 64 * 1024;
/** Larger requests get an array of their own: a slab would waste most of its tail on them. */
const SLAB_REQUEST_MAX = 4096;

let slab = new Uint8Array(SLAB_BYTES);
let used = 0;

/**
 * A buffer with at least `length` unused (zeroed) bytes from `slabOffset()` on, for a writer that knows the
 * most it will write but not yet the exact length; it then claims what it wrote with `takeBytes`. Nothing
 * else may take bytes in between (encoding is synchronous).
 */
export function slabWithRoom(length: number): Uint8Array {
  if (used + length > SLAB_BYTES) {
    slab = new Uint8Array(Math.max(SLAB_BYTES, length));
    used = 0;
  }
  return slab;
}

/** Where the room that `slabWithRoom` returned starts. */
export function slabOffset(): number {
  return used;
}

/** Claims the next `length` bytes of the current slab (after `slabWithRoom(length)` or more). */
export function takeBytes(length: number): Uint8Array {
  const bytes = slab.subarray(used, used + length);
  used += length;
  return bytes;
}

/** A fresh, zeroed array of `length` bytes that nothing else will ever write to. */
export function freshBytes(length: number): Uint8Array {
  if (length > SLAB_REQUEST_MAX) return new Uint8Array(length);
  slabWithRoom(length);
  return takeBytes(length);
}
