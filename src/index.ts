/**
 * grapevine: gossip-based cluster membership, failure detection and per-node state for Node.js.
 *
 * The package's public face. `createNode` runs a node inside a service (the Node API); `Agent` and its
 * configuration run one as a daemon. The protocol core (deterministic, no I/O), the wire codec and the
 * simulator are exported for embedding and testing.
 */
export {
  AGENT_OPTION_SPECS,
  Agent,
  type AgentConfig,
  type ConfigIssue,
  createHttpApi,
  loadAgentConfig,
} from './agent/index.js';
export * from './core/index.js';
export { type FrameCodec, PlainFrameCodec } from './runtime/frame-codec.js';
export {
  createNode,
  type EventsDropped,
  GrapevineError,
  type GrapevineErrorCode,
  GrapevineNode,
  type KeyEntry,
  type KeyFingerprint,
  type KeyringChange,
  type KeyUpdate,
  keyFingerprint,
  type MemberDetails,
  type MemberFilter,
  type NodeEvent,
  type NodeEventListener,
  type NodeKeyring,
  type NodeLogger,
  type NodeOptions,
  type NodePhase,
  type NodeStats,
  type Refutation,
  type VerdictProvenance,
  type VerdictQuery,
  type VerdictRecord,
} from './runtime/node-api.js';
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
