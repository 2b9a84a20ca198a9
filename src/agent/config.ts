/**
 * The agent's configuration: one spec (AGENT_OPTION_SPECS, plus the protocol's GOSSIP_OPTION_SPECS nested
 * under `gossip`) drives the types, defaults, validation, command-line flags, environment variables and the
 * generated docs/configuration.md.
 *
 * Invariants it keeps: sources are layered flags > environment (GRAPEVINE_*) > JSON file > defaults, and
 * one validation pass reports every problem at once (each with its path and the source it came from); an
 * unknown field or a malformed value is an error, never a silent fallback to the default.
 */
import { readFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import {
  GOSSIP_OPTION_SPECS,
  type GossipOptions,
  type OptionIssue,
  type OptionSpec,
  type OptionsOf,
  resolveGossipOptions,
  resolveOptions,
  type SpecRecord,
} from '../core/index.js';
import { AddressError, isWildcardHost, parseAddress } from '../runtime/address.js';
import { KeyError, Keyring } from '../runtime/keyring.js';
import { chooseAdvertiseHost, VERDICT_HISTORY_SIZE_MAX } from '../runtime/node-api.js';

const ADDRESS_HINT = 'must be host:port, for example 127.0.0.1:7946 or [::1]:7946';
const NAME_PATTERN = /^$|^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export const AGENT_OPTION_SPECS = {
  name: {
    kind: 'string',
    default: '',
    lengthMax: 128,
    pattern: NAME_PATTERN,
    patternHint: 'must start with a letter or digit and hold only letters, digits, ".", "_" and "-"',
    doc:
      "Name of this node, unique in the cluster. Empty: the machine's hostname, as Serf does. A node that " +
      'restarts under the same name supersedes its previous incarnation (it gets a higher generation).',
  },
  bind: {
    kind: 'string',
    default: '0.0.0.0:7946',
    lengthMax: 300,
    doc:
      'Address (host:port) to listen on for gossip, UDP and TCP on the same port. 7946 is the port Serf and ' +
      'memberlist use. Port 0 picks a free port (useful for tests and local demos).',
  },
  advertise: {
    kind: 'string',
    default: '',
    lengthMax: 300,
    doc:
      'Address (host:port) other nodes use to reach this one. Empty: the bind address, or, when bind is a ' +
      "wildcard such as 0.0.0.0, the first private IPv4 address of this machine (memberlist's rule: peers " +
      'cannot send to a wildcard). Set it behind NAT, in containers, or on hosts with several interfaces.',
  },
  join: {
    kind: 'string-list',
    default: [],
    countMax: 64,
    doc:
      'Addresses (host:port) of existing members to join at start (repeat --join; comma-separated in ' +
      'GRAPEVINE_JOIN). They also become seeds the node gossips with now and then, so partitions heal. ' +
      'Without retryJoin the agent exits if none of them answers within joinTimeoutMs.',
  },
  joinTimeoutMs: {
    kind: 'number',
    default: 10_000,
    min: 100,
    max: 600_000,
    integer: true,
    unit: 'ms',
    doc: 'How long one join attempt waits for a member to answer.',
  },
  retryJoin: {
    kind: 'boolean',
    default: false,
    doc:
      'Keep retrying the join addresses until one answers, instead of exiting: for seeds that are not up yet ' +
      '(all agents of a cluster starting at once, a seed being rescheduled).',
  },
  retryJoinIntervalMs: {
    kind: 'number',
    default: 5000,
    min: 100,
    max: 3_600_000,
    integer: true,
    unit: 'ms',
    doc: 'Pause between two join attempts when retryJoin is on.',
  },
  retryJoinMax: {
    kind: 'number',
    default: 0,
    min: 0,
    max: 1_000_000,
    integer: true,
    doc: 'Join attempts before the agent gives up and exits with an error; 0 retries forever.',
  },
  http: {
    kind: 'string',
    default: '127.0.0.1:7947',
    lengthMax: 300,
    doc:
      'Address (host:port) of the HTTP API and /metrics. Loopback by default: the API can change this ' +
      "node's state and make it leave, so expose it beyond the host only behind something that authenticates.",
  },
  cluster: {
    kind: 'string',
    default: 'grapevine',
    lengthMax: 64,
    pattern: /^[A-Za-z0-9._-]+$/,
    patternHint: 'must be 1 to 64 letters, digits, ".", "_" or "-"',
    doc:
      'Cluster name, written in every frame: nodes drop frames from another cluster (and count them), so ' +
      'two clusters on one network never merge by accident.',
  },
  keys: {
    kind: 'string-list',
    default: [],
    countMax: 16,
    doc:
      'Encryption keys (base64, 32 bytes; `grapevine keygen` makes one). Repeat --key; comma-separated in ' +
      'GRAPEVINE_KEY. The first key encrypts every datagram and stream with AES-256-GCM, every key decrypts, ' +
      'so a key can be rotated through a live cluster. Empty: frames are not encrypted.',
  },
  logLevel: {
    kind: 'string',
    default: 'info',
    lengthMax: 10,
    pattern: new RegExp(`^(${LOG_LEVELS.join('|')})$`),
    patternHint: `must be one of ${LOG_LEVELS.join(', ')}`,
    doc: 'Least severe level written to the JSON log on standard output.',
  },
  dataDir: {
    kind: 'string',
    default: '',
    lengthMax: 4096,
    doc:
      'Directory where the agent persists its last generation, so that a restart always supersedes the ' +
      'previous incarnation even if the wall clock stepped back. Empty: the generation is the start time.',
  },
  leaveTimeoutMs: {
    kind: 'number',
    default: 5000,
    min: 0,
    max: 600_000,
    integer: true,
    unit: 'ms',
    doc:
      'Longest time a graceful leave (SIGINT, SIGTERM, `grapevine leave`) waits for the announcement to ' +
      'spread before the agent exits. It waits two gossip rounds at most.',
  },
  dropLogIntervalMs: {
    kind: 'number',
    default: 60_000,
    min: 1000,
    max: 86_400_000,
    integer: true,
    unit: 'ms',
    doc:
      'Dropped frames (bad authentication, another cluster, undecodable) are logged as one summary per ' +
      'interval, never one line per packet, so a flood cannot fill the disk.',
  },
  eventBufferSize: {
    kind: 'number',
    default: 1024,
    min: 1,
    max: 1_000_000,
    integer: true,
    doc:
      'Events buffered per client of the HTTP event stream. A client that falls further behind loses the ' +
      'oldest events and receives an `events-dropped` event with their count.',
  },
  verdictHistorySize: {
    kind: 'number',
    default: 512,
    min: 1,
    max: VERDICT_HISTORY_SIZE_MAX,
    integer: true,
    doc:
      'Status changes kept in the verdict history (GET /v1/verdicts, `grapevine verdicts`): who suspected ' +
      'whom, when, with what phi, and which heartbeat refuted it. The oldest record goes first; 512 covers ' +
      'hours of a healthy cluster and the whole story of an incident. A record is a few hundred bytes.',
  },
  exitOnStdinClose: {
    kind: 'boolean',
    default: false,
    doc:
      'Leave and exit when standard input closes. A supervisor that spawns agents with a stdin pipe (the ' +
      'demo, the integration tests) takes them down with it even if it is killed outright.',
  },
} as const satisfies SpecRecord;

export type AgentOptions = OptionsOf<typeof AGENT_OPTION_SPECS>;
export type AgentOptionName = keyof typeof AGENT_OPTION_SPECS;
export type GossipOptionName = keyof typeof GOSSIP_OPTION_SPECS;

/** A validated configuration: the agent's options (name and advertise resolved) plus the protocol's. */
export interface AgentConfig extends AgentOptions {
  readonly gossip: GossipOptions;
}

/** One problem: where (`gossip.fanout`), what is wrong, and which source supplied the value. */
export interface ConfigIssue extends OptionIssue {
  readonly source?: string;
}

// ---------------------------------------------------------------------------------------------------------
// Flags and environment variables, derived from the spec names

export interface FlagDefinition {
  readonly section: 'agent' | 'gossip';
  readonly option: string;
  /** Without the dashes: `gossip-interval-ms`. */
  readonly flag: string;
  readonly env: string;
  readonly spec: OptionSpec;
}

/** Flags whose name is not the spec name in kebab case (a repeatable flag reads best in the singular). */
const FLAG_OVERRIDES: Readonly<Record<string, string>> = { keys: 'key' };
/** Protocol options that the agent sets from its own (the seeds are the join addresses). */
const GOSSIP_OPTIONS_WITHOUT_FLAGS = new Set<string>(['seeds']);

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

function definition(section: FlagDefinition['section'], option: string, spec: OptionSpec): FlagDefinition {
  const flag = FLAG_OVERRIDES[option] ?? kebab(option);
  return { section, option, flag, env: `GRAPEVINE_${flag.replace(/-/g, '_').toUpperCase()}`, spec };
}

/** Every flag the agent accepts, agent options first, then the protocol's. */
export function flagDefinitions(): FlagDefinition[] {
  const definitions: FlagDefinition[] = [];
  for (const [option, spec] of Object.entries(AGENT_OPTION_SPECS)) {
    definitions.push(definition('agent', option, spec));
  }
  for (const [option, spec] of Object.entries(GOSSIP_OPTION_SPECS)) {
    if (!GOSSIP_OPTIONS_WITHOUT_FLAGS.has(option)) definitions.push(definition('gossip', option, spec));
  }
  return definitions;
}

/** Environment variable naming the configuration file (the --config flag wins over it). */
export const CONFIG_FILE_ENV = 'GRAPEVINE_CONFIG';

// ---------------------------------------------------------------------------------------------------------
// Loading

export interface ConfigSources {
  /** Flag values by option name (as commander parses them: strings, string arrays, booleans). */
  readonly flags?: Readonly<Record<string, unknown>>;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Path of a JSON configuration file. */
  readonly file?: string;
  /** Reads the configuration file (tests pass a fake). */
  readonly readFile?: (path: string) => string;
  /** The machine's interfaces, to choose the advertise address (tests pass a fake). */
  readonly interfaces?: ReturnType<typeof networkInterfaces>;
  /** The machine's hostname, the default name (tests pass a fake). */
  readonly hostname?: string;
}

export type ConfigResult =
  | { readonly ok: true; readonly config: AgentConfig }
  | { readonly ok: false; readonly issues: readonly ConfigIssue[] };

/** A layer of raw values for both sections, with the source of each value for messages. */
interface Layer {
  readonly agent: Record<string, unknown>;
  readonly gossip: Record<string, unknown>;
  readonly sources: Map<string, string>;
}

function emptyLayer(): Layer {
  return { agent: {}, gossip: {}, sources: new Map() };
}

function put(layer: Layer, definition: FlagDefinition, value: unknown, source: string): void {
  layer[definition.section][definition.option] = value;
  const path = definition.section === 'gossip' ? `gossip.${definition.option}` : definition.option;
  layer.sources.set(path, source);
}

/**
 * Text (from a flag or a variable) as the value the spec wants. Text that does not parse is passed on
 * unchanged, so validation reports it with the text the user wrote.
 */
export function parseText(spec: OptionSpec, text: string | readonly string[]): unknown {
  const items = typeof text === 'string' ? [text] : text;
  switch (spec.kind) {
    case 'string-list':
      return items
        .flatMap((item) => item.split(','))
        .map((item) => item.trim())
        .filter((item) => item !== '');
    case 'number': {
      const last = items.at(-1) ?? '';
      const number = last.trim() === '' ? Number.NaN : Number(last);
      return Number.isNaN(number) ? last : number;
    }
    case 'boolean': {
      const last = (items.at(-1) ?? '').trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(last)) return true;
      if (['false', '0', 'no', 'off'].includes(last)) return false;
      return items.at(-1);
    }
    case 'string':
      return items.at(-1) ?? '';
  }
}

function fileLayer(file: string | undefined, sources: ConfigSources, issues: ConfigIssue[]): Layer {
  const layer = emptyLayer();
  if (file === undefined) return layer;
  const source = `file ${file}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse((sources.readFile ?? ((path) => readFileSync(path, 'utf8')))(file));
  } catch (error) {
    const reason =
      error instanceof SyntaxError ? `is not valid JSON (${error.message})` : `cannot be read (${error})`;
    issues.push({ path: '(file)', message: `${file} ${reason}`, source });
    return layer;
  }
  if (!isObject(parsed)) {
    issues.push({ path: '(file)', message: 'must hold a JSON object', source });
    return layer;
  }
  const { gossip, ...agent } = parsed;
  Object.assign(layer.agent, agent);
  if (gossip !== undefined && !isObject(gossip)) {
    issues.push({ path: 'gossip', message: 'must be an object', source });
  } else if (gossip !== undefined) {
    Object.assign(layer.gossip, gossip);
  }
  for (const name of Object.keys(layer.agent)) layer.sources.set(name, source);
  for (const name of Object.keys(layer.gossip)) layer.sources.set(`gossip.${name}`, source);
  return layer;
}

function envLayer(env: Readonly<Record<string, string | undefined>>): Layer {
  const layer = emptyLayer();
  for (const definition of flagDefinitions()) {
    const text = env[definition.env];
    if (text !== undefined) put(layer, definition, parseText(definition.spec, text), `$${definition.env}`);
  }
  return layer;
}

function flagLayer(flags: Readonly<Record<string, unknown>>): Layer {
  const layer = emptyLayer();
  for (const definition of flagDefinitions()) {
    const value = flags[camel(definition.flag)];
    if (value === undefined) continue;
    const parsed =
      typeof value === 'string' || Array.isArray(value)
        ? parseText(definition.spec, value as string[])
        : value;
    put(layer, definition, parsed, `--${definition.flag}`);
  }
  return layer;
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(layers: readonly Layer[]): Layer {
  const merged = emptyLayer();
  for (const layer of layers) {
    Object.assign(merged.agent, layer.agent);
    Object.assign(merged.gossip, layer.gossip);
    for (const [path, source] of layer.sources) merged.sources.set(path, source);
  }
  return merged;
}

/**
 * Loads and validates the configuration from every source. Returns the config, or every problem found:
 * the caller prints them all and exits (the agent exits with code 2).
 */
export function loadAgentConfig(sources: ConfigSources = {}): ConfigResult {
  const issues: ConfigIssue[] = [];
  const env = sources.env ?? {};
  const file = sources.file ?? env[CONFIG_FILE_ENV];
  const layers = [fileLayer(file, sources, issues), envLayer(env), flagLayer(sources.flags ?? {})];
  const raw = merge(layers);
  const agent = resolveOptions(AGENT_OPTION_SPECS, raw.agent);
  const gossip = resolveGossipOptions(raw.gossip, 'gossip.');
  const found = [...agent.issues, ...gossip.issues, ...crossCheck(agent.options, sources)];
  for (const issue of found) {
    const source = raw.sources.get(issue.path.replace(/\[\d+\]$/, ''));
    issues.push(source === undefined ? issue : { ...issue, source });
  }
  if (issues.length > 0) return { ok: false, issues };
  const name = agent.options.name === '' ? (sources.hostname ?? hostname()) : agent.options.name;
  return { ok: true, config: { ...agent.options, name, gossip: gossip.options } };
}

// ---------------------------------------------------------------------------------------------------------
// Checks that span fields or need more than the spec can say

function addressIssue(path: string, text: string, options: { allowPortZero: boolean }): ConfigIssue | null {
  try {
    parseAddress(text, options);
    return null;
  } catch (error) {
    const message = error instanceof AddressError ? error.message : String(error);
    return { path, message: `${ADDRESS_HINT}: ${message}` };
  }
}

function crossCheck(options: AgentOptions, sources: ConfigSources): ConfigIssue[] {
  const issues: (ConfigIssue | null)[] = [];
  // A wrong type is already reported by the spec; only check the shape of values of the right type.
  if (typeof options.bind === 'string')
    issues.push(addressIssue('bind', options.bind, { allowPortZero: true }));
  if (typeof options.http === 'string')
    issues.push(addressIssue('http', options.http, { allowPortZero: true }));
  if (typeof options.advertise === 'string' && options.advertise !== '') {
    issues.push(addressIssue('advertise', options.advertise, { allowPortZero: true }));
  }
  if (Array.isArray(options.join)) {
    options.join.forEach((address, index) => {
      if (typeof address === 'string') {
        issues.push(addressIssue(`join[${index}]`, address, { allowPortZero: false }));
      }
    });
  }
  issues.push(keysIssue(options.keys));
  issues.push(advertiseIssue(options, sources));
  return issues.filter((issue): issue is ConfigIssue => issue !== null);
}

function keysIssue(keys: readonly string[]): ConfigIssue | null {
  if (!Array.isArray(keys) || keys.length === 0 || keys.some((key) => typeof key !== 'string')) return null;
  try {
    Keyring.fromBase64(keys);
    return null;
  } catch (error) {
    if (!(error instanceof KeyError)) throw error;
    const path = error.position === undefined ? 'keys' : `keys[${error.position}]`;
    return { path, message: error.message };
  }
}

/** An empty advertise with a wildcard bind needs an address to advertise; the node picks the same one. */
function advertiseIssue(options: AgentOptions, sources: ConfigSources): ConfigIssue | null {
  if (typeof options.advertise !== 'string' || options.advertise !== '' || typeof options.bind !== 'string') {
    return null;
  }
  let bindHost: string;
  try {
    bindHost = parseAddress(options.bind, { allowPortZero: true }).host;
  } catch {
    return null;
  }
  if (!isWildcardHost(bindHost)) return null;
  if (chooseAdvertiseHost(sources.interfaces ?? networkInterfaces()) !== undefined) return null;
  return {
    path: 'advertise',
    message: `bind is the wildcard ${options.bind} and this machine has no non-loopback IPv4 address to advertise: set advertise (for example 127.0.0.1:7946)`,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Presentation

/** One line per problem: `gossip.fanout (--fanout): must be between 1 and 16, got 40`. */
export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues
    .map(
      (issue) => `  ${issue.path}${issue.source === undefined ? '' : ` (${issue.source})`}: ${issue.message}`,
    )
    .join('\n');
}

/** The configuration as logged at start: everything but the keys, which are secrets (only their count). */
export function describeConfig(config: AgentConfig): Record<string, unknown> {
  const { keys, ...rest } = config;
  return { ...rest, keys: `${keys.length} key(s)` };
}
