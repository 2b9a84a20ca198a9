/**
 * Assertions for programmer errors. They stay on in production: a broken invariant inside the core is a bug,
 * and stopping loudly beats gossiping corrupt state to the whole cluster. Bad input from peers is never
 * asserted on; the codec and the merge functions turn it into counted drops instead.
 */

export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function assertNever(value: never, message = 'unexpected value'): never {
  throw new AssertionError(`${message}: ${JSON.stringify(value)}`);
}
