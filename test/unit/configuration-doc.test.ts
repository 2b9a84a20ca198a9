/**
 * Proves that docs/configuration.md cannot drift from the option specs: the committed page must equal what
 * the specs render, and the rendering documents every option of both specs under the flag and environment
 * variable the agent really accepts for it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { AGENT_OPTION_SPECS, flagDefinitions } from '../../src/agent/index.js';
import { CONFIGURATION_DOC_COMMAND, renderConfigurationDoc } from '../../src/cli/config-docs.js';
import { GOSSIP_OPTION_SPECS } from '../../src/core/index.js';

const DOC_FILE = new URL('../../docs/configuration.md', import.meta.url);

/** The lines of the option's block: from its heading to the next heading. */
function blockOf(doc: string, name: string): string {
  const start = doc.indexOf(`\n### \`${name}\`\n`);
  assert.ok(start >= 0, `no section for ${name}`);
  const end = doc.indexOf('\n### ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

test('docs/configuration.md equals the text the option specs render', () => {
  const committed = readFileSync(DOC_FILE, 'utf8');
  const rendered = renderConfigurationDoc();
  if (committed === rendered) return;
  const committedLines = committed.split('\n');
  const renderedLines = rendered.split('\n');
  const line = renderedLines.findIndex((text, index) => committedLines[index] !== text);
  assert.fail(
    `docs/configuration.md is out of date (first difference at line ${line + 1}: ` +
      `${JSON.stringify(committedLines[line])} should be ${JSON.stringify(renderedLines[line])}); ` +
      `regenerate it with \`${CONFIGURATION_DOC_COMMAND}\``,
  );
});

test('every agent and protocol option has a section with its default and its paragraph', () => {
  const doc = renderConfigurationDoc();
  const specs = [...Object.entries(AGENT_OPTION_SPECS), ...Object.entries(GOSSIP_OPTION_SPECS)];
  for (const [name, spec] of specs) {
    const block = blockOf(doc, name);
    assert.ok(block.includes(spec.doc), `${name}: paragraph missing`);
    assert.match(block, /\| default \| .+ \|/, `${name}: default missing`);
  }
});

test('each option is documented under the flag and variable the agent accepts, gossip ones included', () => {
  const doc = renderConfigurationDoc();
  const definitions = flagDefinitions();
  assert.ok(definitions.some((definition) => definition.section === 'gossip'));
  for (const definition of definitions) {
    const block = blockOf(doc, definition.option);
    assert.ok(
      block.includes(`\`--${definition.flag}`),
      `${definition.option}: flag --${definition.flag} missing`,
    );
    assert.ok(block.includes(`\`${definition.env}\``), `${definition.option}: ${definition.env} missing`);
  }
});

test('flag and variable names follow the documented rule: kebab case, GRAPEVINE_ and upper snake case', () => {
  const doc = renderConfigurationDoc();
  // Written out by hand from the rule the page states, not derived from the code under test.
  assert.ok(blockOf(doc, 'gossipIntervalMs').includes('`--gossip-interval-ms <ms>`'));
  assert.ok(blockOf(doc, 'gossipIntervalMs').includes('`GRAPEVINE_GOSSIP_INTERVAL_MS`'));
  assert.ok(blockOf(doc, 'fanout').includes('`GRAPEVINE_FANOUT`'));
  assert.ok(blockOf(doc, 'retryJoinIntervalMs').includes('`--retry-join-interval-ms <ms>`'));
});

test('the rendering names the precedence of sources and says that every problem is reported at once', () => {
  const doc = renderConfigurationDoc();
  assert.ok(doc.includes('flags > environment > file > defaults'));
  assert.ok(doc.includes('every problem at once'));
});
