/**
 * Writes docs/configuration.md from the option specs (see src/cli/config-docs.ts). With `--check` it writes
 * nothing and exits 1 when the file differs from what the specs render, the same check the unit test makes.
 *
 *   node --import tsx bench/gen-configuration.ts            # regenerate the page
 *   node --import tsx bench/gen-configuration.ts --check    # is the committed page current?
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { renderConfigurationDoc } from '../src/cli/config-docs.js';

const DOC_FILE = new URL('../docs/configuration.md', import.meta.url);

function main(): void {
  const rendered = renderConfigurationDoc();
  const current = existsSync(DOC_FILE) ? readFileSync(DOC_FILE, 'utf8') : '';
  if (process.argv.includes('--check')) {
    const upToDate = current === rendered;
    process.stdout.write(`docs/configuration.md is ${upToDate ? 'up to date' : 'out of date'}\n`);
    process.exitCode = upToDate ? 0 : 1;
    return;
  }
  writeFileSync(DOC_FILE, rendered);
  process.stdout.write(`wrote docs/configuration.md (${current === rendered ? 'unchanged' : 'updated'})\n`);
}

main();
