/**
 * The agent's public face: the daemon (Agent), its configuration spec and loader, the HTTP API, metrics
 * and logger. The CLI imports the agent only through this file.
 */
export { Agent, type AgentInit, VERSION } from './agent.js';
export {
  AGENT_OPTION_SPECS,
  type AgentConfig,
  type AgentOptions,
  CONFIG_FILE_ENV,
  type ConfigIssue,
  type ConfigResult,
  type ConfigSources,
  describeConfig,
  type FlagDefinition,
  flagDefinitions,
  formatIssues,
  loadAgentConfig,
} from './config.js';
export { createHttpApi, eventJson, type HttpApiOptions, type MemberJson, memberJson } from './http-api.js';
export { type AgentLogger, createLogger, logClusterEvent } from './logger.js';
export { createNodeMetrics, type NodeMetrics } from './metrics.js';
