/**
 * Proves the gossip options' validation contract: the defaults resolve cleanly, every problem is reported at
 * once with its path (wrong types, ranges, integers, unknown fields), never replaced by a silent default,
 * and the cross-field rules (idleFanout <= fanout, suspectPhi < downPhi, a key and value fit one datagram)
 * hold at their exact boundaries.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  defaultsOf,
  GOSSIP_OPTION_SPECS,
  type OptionIssue,
  resolveGossipOptions,
  resolveOptions,
} from '../../src/core/index.js';

function pathsOf(issues: readonly OptionIssue[]): string[] {
  return issues.map((issue) => issue.path).sort();
}

const numberSpecs = Object.entries(GOSSIP_OPTION_SPECS).flatMap(([name, spec]) =>
  spec.kind === 'number' ? [{ name, spec }] : [],
);

test('the defaults resolve without issues and equal the spec defaults', () => {
  const { options, issues } = resolveGossipOptions({});
  assert.deepEqual(issues, []);
  assert.deepEqual({ ...options }, { ...defaultsOf(GOSSIP_OPTION_SPECS) });
  assert.ok(Object.isFrozen(options));
});

test('every option is documented and its default lies within its own range', () => {
  for (const [name, spec] of Object.entries(GOSSIP_OPTION_SPECS)) {
    assert.ok(spec.doc.length > 20, `${name} needs a doc paragraph`);
  }
  for (const { name, spec } of numberSpecs) {
    assert.ok(spec.min <= spec.default && spec.default <= spec.max, `${name} default out of range`);
    if (spec.integer) assert.ok(Number.isInteger(spec.default), `${name} default is not an integer`);
    // Units are part of the name (style rule: units last), and the spec says the same.
    if (name.endsWith('Ms')) assert.equal('unit' in spec ? spec.unit : undefined, 'ms', name);
    if (name.endsWith('BytesMax')) assert.equal('unit' in spec ? spec.unit : undefined, 'bytes', name);
  }
});

test('several wrong fields are all reported at once, each with its path', () => {
  const { issues } = resolveGossipOptions({
    gossipIntervalMs: 'fast',
    fanout: 17,
    datagramBytesMax: 1400.5,
    probePhi: Number.NaN,
    seeds: 'a:1',
    watchers: 5,
  });
  assert.deepEqual(pathsOf(issues), [
    'datagramBytesMax',
    'fanout',
    'gossipIntervalMs',
    'probePhi',
    'seeds',
    'watchers',
  ]);
  const byPath = new Map(issues.map((issue) => [issue.path, issue.message]));
  assert.match(byPath.get('gossipIntervalMs')!, /number/);
  assert.match(byPath.get('fanout')!, /between 1 and 16/);
  assert.match(byPath.get('datagramBytesMax')!, /integer/);
  assert.match(byPath.get('seeds')!, /list of strings/);
});

test('unknown fields are reported, with the section prefix', () => {
  const plain = resolveGossipOptions({ fanuot: 3, gossipIntervalMs: 500 });
  assert.deepEqual(plain.issues, [{ path: 'fanuot', message: 'is not a known option' }]);
  const prefixed = resolveGossipOptions({ fanuot: 3, fanout: 20 }, 'gossip.');
  assert.deepEqual(pathsOf(prefixed.issues), ['gossip.fanout', 'gossip.fanuot']);
});

test('every numeric option accepts its bounds and reports values just outside them', () => {
  for (const { name, spec } of numberSpecs) {
    const rangeIssues = (value: number) =>
      resolveGossipOptions({ [name]: value }).issues.filter(
        (issue) => issue.path === name && /between/.test(issue.message),
      );
    assert.deepEqual(rangeIssues(spec.min), [], `${name} = min`);
    assert.deepEqual(rangeIssues(spec.max), [], `${name} = max`);
    const step = spec.integer ? 1 : 0.01;
    assert.equal(rangeIssues(spec.min - step).length, 1, `${name} below min`);
    assert.equal(rangeIssues(spec.max + step).length, 1, `${name} above max`);
  }
});

test('integer options refuse fractions; fractional ones accept them', () => {
  const fraction = resolveGossipOptions({ fanout: 2.5 });
  assert.deepEqual(pathsOf(fraction.issues), ['fanout']);
  assert.match(fraction.issues[0]!.message, /integer/);
  assert.deepEqual(resolveGossipOptions({ suspectPhi: 2.5 }).issues, []);
});

test('string lists are checked for type and length', () => {
  assert.deepEqual(resolveGossipOptions({ seeds: ['a:1', 'b:2'] }).issues, []);
  assert.deepEqual(pathsOf(resolveGossipOptions({ seeds: ['a:1', 2] }).issues), ['seeds']);
  const many = Array.from({ length: 65 }, (_, index) => `host-${index}:1`);
  assert.deepEqual(pathsOf(resolveGossipOptions({ seeds: many }).issues), ['seeds']);
  assert.deepEqual(resolveGossipOptions({ seeds: many.slice(0, 64) }).issues, []);
});

test('cross-field rule: idleFanout must not exceed fanout', () => {
  assert.deepEqual(resolveGossipOptions({ fanout: 3, idleFanout: 3 }).issues, []);
  const { issues } = resolveGossipOptions({ fanout: 3, idleFanout: 4 });
  assert.deepEqual(pathsOf(issues), ['idleFanout']);
  assert.match(issues[0]!.message, /fanout/);
});

test('cross-field rule: suspectPhi must be below downPhi', () => {
  assert.deepEqual(resolveGossipOptions({ suspectPhi: 7.99, downPhi: 8 }).issues, []);
  assert.deepEqual(pathsOf(resolveGossipOptions({ suspectPhi: 8, downPhi: 8 }).issues), ['suspectPhi']);
  assert.deepEqual(pathsOf(resolveGossipOptions({ suspectPhi: 5, downPhi: 4 }).issues), ['suspectPhi']);
});

test('cross-field rule: a key, a value and 250 bytes of headers must fit one datagram', () => {
  // 128 + 1000 + 250 = 1378 bytes.
  const fits = { keyBytesMax: 128, valueBytesMax: 1000 };
  assert.deepEqual(resolveGossipOptions({ ...fits, datagramBytesMax: 1378 }).issues, []);
  const { issues } = resolveGossipOptions({ ...fits, datagramBytesMax: 1377 });
  assert.deepEqual(pathsOf(issues), ['valueBytesMax']);
  assert.match(issues[0]!.message, /datagramBytesMax/);
  assert.deepEqual(pathsOf(resolveGossipOptions({ valueBytesMax: 1023 }).issues), ['valueBytesMax']);
});

test('cross-field and field issues are reported together', () => {
  const { issues } = resolveGossipOptions({ fanout: 2, idleFanout: 3, downPhi: 2, gossipIntervalMs: 5 });
  assert.deepEqual(pathsOf(issues), ['gossipIntervalMs', 'idleFanout', 'suspectPhi']);
});

test('the generic resolver checks booleans and strings with patterns', () => {
  const specs = {
    verbose: { kind: 'boolean', default: false, doc: 'Log more.' },
    cluster: {
      kind: 'string',
      default: 'main',
      lengthMax: 8,
      pattern: /^[a-z]+$/,
      patternHint: 'must be lowercase letters',
      doc: 'Cluster name.',
    },
  } as const;
  assert.deepEqual(resolveOptions(specs, {}).issues, []);
  const { issues } = resolveOptions(specs, { verbose: 'yes', cluster: 'Main-Cluster' }, 'agent.');
  assert.deepEqual(pathsOf(issues), ['agent.cluster', 'agent.cluster', 'agent.verbose']);
  const messages = issues.map((issue) => issue.message).join('\n');
  assert.match(messages, /true or false/);
  assert.match(messages, /at most 8 characters/);
  assert.match(messages, /lowercase letters, got "Main-Cluster"/);
});

test('null is a wrong value, reported like any other, never replaced by the default', () => {
  const { issues } = resolveGossipOptions({ fanout: null, seeds: null });
  assert.deepEqual(pathsOf(issues), ['fanout', 'seeds']);
});

test('a cross-field rule is not checked against a field that is already invalid', () => {
  const { issues } = resolveGossipOptions({ fanout: 0 });
  assert.deepEqual(pathsOf(issues), ['fanout']);
});
