/**
 * The protocol core: pure and deterministic. Time and randomness are inputs; I/O is outputs.
 * Other folders import the core only through this file.
 */
export { AssertionError, assert, assertNever } from './assert.js';
export { CLUSTER_EVENT_TYPES, type ClusterEvent, type ClusterEventType, type MemberView } from './events.js';
export { phi, silenceAtThreshold } from './failure-detector.js';
export { fnv1aString, identityHashA, identityHashB, memberKey } from './hash.js';
export {
  type Channel,
  CommandError,
  type CommandErrorCode,
  type Input,
  type Output,
  type ProbeOutcome,
} from './io.js';
export {
  CORE_COUNTER_NAMES,
  type CoreCounterName,
  GossipNode,
  type GossipNodeInit,
  type NodeIdentity,
} from './node.js';
export { GOSSIP_OPTION_SPECS, type GossipOptions, resolveGossipOptions } from './options.js';
export { type Random, SeededRandom, splitmix32 } from './random.js';
export {
  defaultsOf,
  type OptionIssue,
  type OptionSpec,
  type OptionsOf,
  resolveOptions,
  type SpecRecord,
} from './spec.js';
export { StringPool } from './string-pool.js';
