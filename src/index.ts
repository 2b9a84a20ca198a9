/**
 * grapevine: gossip-based cluster membership, failure detection and per-node state for Node.js.
 *
 * The package's public face. The protocol core (deterministic, no I/O), the wire codec and the simulator
 * are exported for embedding and testing; the networked runtime builds on them.
 */
export * from './core/index.js';
export { type FrameCodec, PlainFrameCodec } from './runtime/frame-codec.js';
export { Runner, type RunnerInit, type RunnerStats } from './runtime/runner.js';
export type { Scheduler, Transport, TransportHandlers } from './runtime/transport.js';
export { SimCluster, type SimClusterOptions } from './sim/cluster.js';
export {
  type RunReport,
  runScenario,
  SCENARIOS,
  type ScenarioName,
  type ScenarioOptions,
} from './sim/scenarios.js';
export * as wire from './wire/index.js';
