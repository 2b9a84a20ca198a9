/** The wire format: message types and the binary codec. Pure and dependency-free. */
export { freshBytes, slabOffset, slabWithRoom, takeBytes } from './byte-slab.js';
export * from './codec.js';
export * from './messages.js';
export { stringLength, utf8Length, varintLength } from './varint.js';
export { Writer } from './writer.js';
