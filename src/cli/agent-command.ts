/**
 * `grapevine agent`: runs a node as a daemon. Every option of the configuration spec is a flag (the agent's
 * own and the protocol's, kebab-cased: --gossip-interval-ms), layered over GRAPEVINE_* variables and the
 * JSON file named by --config.
 *
 * Exit codes: 0 after a clean leave (SIGINT, SIGTERM, `grapevine leave`), 1 when the agent cannot start or
 * join, 2 when the configuration is invalid (every problem is printed, not just the first).
 */
import { type Command, Option } from 'commander';
import {
  Agent,
  type AgentLogger,
  createLogger,
  type FlagDefinition,
  flagDefinitions,
  formatIssues,
  loadAgentConfig,
} from '../agent/index.js';

function firstSentence(text: string): string {
  const end = text.search(/\.(\s|$)/);
  return end < 0 ? text : text.slice(0, end + 1);
}

/** Placeholders that say what a value looks like, for the options where "value" says too little. */
const PLACEHOLDERS: Readonly<Record<string, string>> = {
  bind: 'host:port',
  advertise: 'host:port',
  http: 'host:port',
  join: 'host:port',
  keys: 'base64',
  name: 'name',
  cluster: 'name',
  dataDir: 'directory',
  logLevel: 'level',
};

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function option(definition: FlagDefinition): Option {
  const { spec, flag } = definition;
  const placeholder =
    PLACEHOLDERS[definition.option] ?? (spec.kind === 'number' ? (spec.unit ?? 'n') : 'value');
  const description = `${firstSentence(spec.doc)} [$${definition.env}]`;
  if (spec.kind === 'boolean') return new Option(`--${flag}`, description);
  if (spec.kind === 'string-list') {
    return new Option(`--${flag} <${placeholder}>`, `${description} (repeatable)`).argParser(collect);
  }
  const shown =
    spec.kind === 'number'
      ? `${spec.default}${spec.unit === undefined ? '' : ` ${spec.unit}`}`
      : spec.default;
  const withDefault = shown === '' ? description : `${description} (default: ${shown})`;
  const result = new Option(`--${flag} <${placeholder}>`, withDefault);
  // The protocol's many tunables stay out of the short help; `agent --help-all` lists them.
  return definition.section === 'gossip' ? result.hideHelp() : result;
}

export function registerAgentCommand(program: Command): void {
  const command = program
    .command('agent')
    .description('Run a node as a daemon with an HTTP API (flags > GRAPEVINE_* environment > --config file)')
    .option(
      '--config <file>',
      'JSON configuration file (protocol options in a nested "gossip" object) [$GRAPEVINE_CONFIG]',
    )
    .option('--help-all', 'list every flag, the protocol tunables included');
  for (const definition of flagDefinitions()) command.addOption(option(definition));
  command.action(async (flags: Record<string, unknown>) => {
    if (flags.helpAll === true) {
      for (const hidden of command.options) hidden.hidden = false;
      command.outputHelp();
      return;
    }
    process.exitCode = await runAgent(flags);
  });
}

async function runAgent(flags: Record<string, unknown>): Promise<number> {
  const { config: file, helpAll: _helpAll, ...options } = flags;
  const loaded = loadAgentConfig({
    flags: options,
    env: process.env,
    ...(typeof file === 'string' ? { file } : {}),
  });
  if (!loaded.ok) {
    const count = loaded.issues.length;
    process.stderr.write(
      `grapevine agent: invalid configuration (${count} problem${count === 1 ? '' : 's'}):\n${formatIssues(loaded.issues)}\n`,
    );
    return 2;
  }
  const logger = createLogger(loaded.config.logLevel);
  let agent: Agent;
  try {
    agent = await Agent.start({ config: loaded.config, logger });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    logger.error({ error: message }, 'agent could not start');
    process.stderr.write(`grapevine agent: ${message}\n`);
    return 1;
  }
  const removeSignals = handleSignals(agent, logger);
  const code = await agent.done;
  removeSignals();
  // Everything the agent opened is closed by now, so the process exits by itself with this code.
  return code;
}

/** The first SIGINT or SIGTERM leaves gracefully; a second one exits at once. */
function handleSignals(agent: Agent, logger: AgentLogger): () => void {
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    received++;
    if (received === 1) {
      void agent.shutdown({ graceful: true, reason: `received ${signal}` });
      return;
    }
    logger.warn({ signal }, 'second signal: exiting without finishing the leave');
    process.exit(1);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
