/**
 * Renders docs/configuration.md from the option specs: the agent's (AGENT_OPTION_SPECS) and the protocol's
 * (GOSSIP_OPTION_SPECS), with the flag and environment variable each maps to taken from the agent's own
 * flag table, so the page cannot name a flag the agent does not accept.
 *
 * Invariant: the text is a pure function of the specs (no dates, no machine details), so
 * test/unit/configuration-doc.test.ts can demand that the committed file equals it byte for byte, and a
 * changed default, range or paragraph shows up in the documentation in the same commit.
 */
import { AGENT_OPTION_SPECS, type FlagDefinition, flagDefinitions } from '../agent/index.js';
import { GOSSIP_OPTION_SPECS, type OptionSpec, type SpecRecord } from '../core/index.js';

/** The command that regenerates the page; the page and the test both name it. */
export const CONFIGURATION_DOC_COMMAND = 'node --import tsx bench/gen-configuration.ts';

interface Section {
  readonly kind: 'agent' | 'gossip';
  readonly title: string;
  readonly intro: string;
  readonly specs: SpecRecord;
}

const SECTIONS: readonly Section[] = [
  {
    kind: 'agent',
    title: 'Agent options',
    intro:
      'What the agent (`grapevine agent`) needs beyond the protocol: its identity, addresses, joining, ' +
      'security and operations. In the configuration file they sit at the top level.',
    specs: AGENT_OPTION_SPECS,
  },
  {
    kind: 'gossip',
    title: 'Protocol options',
    intro:
      "The gossip protocol's tunables, the same for the agent, the library and the simulator. In the " +
      'configuration file they sit in a nested `"gossip"` object; the library takes them as the `gossip` ' +
      'options of a node; `grapevine sim` sets `--fanout` and `--interval-ms` and keeps the defaults for the rest.',
    specs: GOSSIP_OPTION_SPECS,
  },
];

const INTRO = `# Configuration

<!-- Generated from the option specs in src/agent/config.ts and src/core/options.ts by
\`${CONFIGURATION_DOC_COMMAND}\`. Do not edit by hand: test/unit/configuration-doc.test.ts fails when
this file differs from what the specs render. -->

Every option has one spec (type, default, range, unit and the paragraph below) from which the TypeScript
types, the defaults, the validation, the command-line flags, the environment variables and this page are all
derived.

## Where values come from

The agent reads four sources. For each option the first source that sets it wins:

1. **command-line flags** (\`grapevine agent --fanout 4\`);
2. **environment variables** (\`GRAPEVINE_FANOUT=4\`);
3. **a JSON configuration file** named by \`--config <file>\` or \`GRAPEVINE_CONFIG\` (the flag wins);
4. **the defaults** listed below.

So: flags > environment > file > defaults. A source replaces a value whole: a list given as a flag replaces
the list from the file, it is not appended to it.

The file holds one JSON object: agent options at the top level, protocol options in a nested \`"gossip"\`
object, with the option names as written here:

\`\`\`json
{
  "name": "web-1",
  "join": ["10.0.0.1:7946", "10.0.0.2:7946"],
  "gossip": { "gossipIntervalMs": 500, "fanout": 4 }
}
\`\`\`

Flags and variables are the option names in kebab case and in upper snake case after \`GRAPEVINE_\`,
without a section prefix (\`fanout\` is \`--fanout\` and \`GRAPEVINE_FANOUT\`). Numbers are written as
numbers; booleans as \`true\` or \`false\` (\`1\`, \`0\`, \`yes\`, \`no\`, \`on\`, \`off\` are accepted too; a
boolean flag without a value means \`true\`); lists by repeating the flag or, in a variable, separated by
commas.

## Validation

Every value, from every source, is checked against its spec: its type, its range, whether it must be an
integer, its pattern, its length or item count. Rules that span options are checked too: \`idleFanout\` may
not exceed \`fanout\`, \`suspectPhi\` must be below \`downPhi\`, and \`keyBytesMax + valueBytesMax\` plus 250
bytes of headers must fit in \`datagramBytesMax\`; addresses must be \`host:port\`, keys must decode to 32
bytes. An unknown option in the file is an error, never ignored, and so is an unknown flag, so a typo cannot
silently leave a default in place.

Validation reports **every problem at once**, each with its path and the source that supplied the value, and
the agent exits with code 2 without starting:

\`\`\`
grapevine agent: invalid configuration (2 problems):
  gossip.fanout (--fanout): must be between 1 and 16, got 40
  gossip.suspectPhi (file grapevine.json): must be below downPhi (8)
\`\`\`
`;

// ---------------------------------------------------------------------------------------------------------
// Formatting values

function number(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 6 });
}

/** A duration in milliseconds as people say it, when it is a whole number of seconds or more. */
function spokenDuration(milliseconds: number): string | null {
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1000, 's'],
  ];
  for (const [size, name] of units) {
    if (milliseconds >= size && milliseconds % size === 0) return `${milliseconds / size} ${name}`;
  }
  return null;
}

function quantity(value: number, unit: string | undefined): string {
  if (unit === undefined) return number(value);
  const spoken = unit === 'ms' ? spokenDuration(value) : null;
  return `${number(value)} ${unit}${spoken === null ? '' : ` (${spoken})`}`;
}

function typeOf(spec: OptionSpec): string {
  switch (spec.kind) {
    case 'number':
      return spec.integer ? 'integer' : 'number';
    case 'boolean':
      return 'boolean';
    case 'string':
      return `string of at most ${spec.lengthMax} characters`;
    case 'string-list':
      return `list of strings, at most ${spec.countMax} items`;
  }
}

function defaultOf(spec: OptionSpec): string {
  switch (spec.kind) {
    case 'number':
      return quantity(spec.default, spec.unit);
    case 'boolean':
      return `\`${spec.default}\``;
    case 'string':
      return spec.default === '' ? 'empty' : `\`${spec.default}\``;
    case 'string-list':
      return spec.default.length === 0 ? 'empty list' : spec.default.map((item) => `\`${item}\``).join(', ');
  }
}

/** What values are accepted, beyond the type; null when the type says it all. */
function rangeOf(spec: OptionSpec): string | null {
  switch (spec.kind) {
    case 'number':
      return `${number(spec.min)} to ${quantity(spec.max, spec.unit)}`;
    case 'string':
      return spec.patternHint === undefined ? null : capitalize(spec.patternHint);
    case 'boolean':
    case 'string-list':
      return null;
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// ---------------------------------------------------------------------------------------------------------
// Flags and variables

function flagUsage(definition: FlagDefinition): string {
  const spec = definition.spec;
  if (spec.kind === 'boolean') return `--${definition.flag}`;
  const placeholder = spec.kind === 'number' ? (spec.unit ?? 'n') : 'value';
  const repeat = spec.kind === 'string-list' ? ' (repeatable)' : '';
  return `--${definition.flag} <${placeholder}>${repeat}`;
}

function definitionsBySection(): Map<string, FlagDefinition> {
  const byKey = new Map<string, FlagDefinition>();
  for (const definition of flagDefinitions())
    byKey.set(`${definition.section}.${definition.option}`, definition);
  return byKey;
}

function filePath(section: Section, name: string): string {
  return section.kind === 'gossip' ? `gossip.${name}` : name;
}

// ---------------------------------------------------------------------------------------------------------
// The page

function optionBlock(
  section: Section,
  name: string,
  spec: OptionSpec,
  flag: FlagDefinition | undefined,
): string {
  const rows: [string, string][] = [
    ['flag', flag === undefined ? 'none' : `\`${flagUsage(flag)}\``],
    ['environment', flag === undefined ? 'none' : `\`${flag.env}\``],
    ['file', `\`${filePath(section, name)}\``],
    ['type', typeOf(spec)],
    ['default', defaultOf(spec)],
  ];
  const range = rangeOf(spec);
  if (range !== null) rows.push(['accepted', range]);
  const lines = [
    `### \`${name}\``,
    '',
    '| | |',
    '|---|---|',
    ...rows.map(([label, value]) => `| ${label} | ${value} |`),
  ];
  lines.push('', spec.doc);
  if (flag === undefined) {
    lines.push(
      '',
      'This option has no flag or environment variable: set it in the configuration file or through the library.',
    );
  }
  return lines.join('\n');
}

function summaryTable(section: Section, flags: Map<string, FlagDefinition>): string {
  const rows = Object.entries(section.specs).map(([name, spec]) => {
    const flag = flags.get(`${section.kind}.${name}`);
    return `| [\`${name}\`](#${name.toLowerCase()}) | ${flag === undefined ? 'none' : `\`--${flag.flag}\``} | ${defaultOf(spec)} |`;
  });
  return ['| option | flag | default |', '|---|---|---|', ...rows].join('\n');
}

function renderSection(section: Section, flags: Map<string, FlagDefinition>): string {
  const blocks = Object.entries(section.specs).map(([name, spec]) =>
    optionBlock(section, name, spec, flags.get(`${section.kind}.${name}`)),
  );
  return [
    `## ${section.title}`,
    '',
    section.intro,
    '',
    summaryTable(section, flags),
    '',
    ...blocks.flatMap((block) => [block, '']),
  ].join('\n');
}

/** The whole of docs/configuration.md. */
export function renderConfigurationDoc(): string {
  const flags = definitionsBySection();
  const sections = SECTIONS.map((section) => renderSection(section, flags));
  return `${[INTRO, ...sections].join('\n').trimEnd()}\n`;
}
