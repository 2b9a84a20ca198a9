/**
 * Proves the architecture rule that the simulator depends on: the protocol core and the wire codec read no
 * clock, draw no ambient randomness, and touch no I/O. It scans their sources for the ambient APIs.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const FORBIDDEN: readonly [RegExp, string][] = [
  [/\bMath\.random\b/, 'Math.random'],
  [/\bDate\.now\b|\bnew Date\b/, 'Date'],
  [/\bsetTimeout\b|\bsetInterval\b|\bsetImmediate\b/, 'timers'],
  [/\bperformance\.now\b/, 'performance.now'],
  [/\bprocess\./, 'process'],
  [/\bconsole\./, 'console'],
  [/from ['"]node:/, 'node: imports'],
  [/\bawait\b|\basync\b/, 'asynchronous code'],
];

function sources(folder: string): string[] {
  return readdirSync(folder)
    .filter((file) => file.endsWith('.ts'))
    .map((file) => join(folder, file));
}

for (const folder of ['src/core', 'src/wire']) {
  test(`${folder} uses no ambient time, randomness or I/O`, () => {
    const files = sources(folder);
    assert.ok(files.length > 3, `expected sources in ${folder}`);
    for (const file of files) {
      // Comments may mention the forbidden names (to explain why they are forbidden).
      const code = readFileSync(file, 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '');
      for (const [pattern, what] of FORBIDDEN) {
        assert.ok(!pattern.test(code), `${file} uses ${what}`);
      }
    }
  });
}

test('the core imports nothing outside src/core and src/wire', () => {
  for (const file of sources('src/core')) {
    for (const match of readFileSync(file, 'utf8').matchAll(/from '([^']+)'/g)) {
      const target = match[1]!;
      assert.ok(target.startsWith('./') || target.startsWith('../wire/'), `${file} imports ${target}`);
    }
  }
});
