/**
 * Proves the agent's configuration contract: flags override GRAPEVINE_* variables, which override the JSON
 * file, which overrides the spec's defaults; one validation reports every problem at once with its path and
 * source (never a silent fallback); and the flag and variable names derive from the spec names.
 */
import assert from 'node:assert/strict';
import type { networkInterfaces } from 'node:os';
import { describe, test } from 'node:test';
import {
  AGENT_OPTION_SPECS,
  type ConfigSources,
  flagDefinitions,
  formatIssues,
  loadAgentConfig,
} from '../../src/agent/config.js';
import { GOSSIP_OPTION_SPECS } from '../../src/core/index.js';

const KEY_A = Buffer.alloc(32, 1).toString('base64');
const KEY_B = Buffer.alloc(32, 2).toString('base64');

type Interfaces = ReturnType<typeof networkInterfaces>;

const PRIVATE_INTERFACES: Interfaces = {
  lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '', internal: true, cidr: null }],
  eth0: [{ address: '10.1.2.3', netmask: '255.0.0.0', family: 'IPv4', mac: '', internal: false, cidr: null }],
};
const LOOPBACK_ONLY: Interfaces = { lo: PRIVATE_INTERFACES.lo! };

function load(sources: ConfigSources & { fileText?: string }) {
  const { fileText, ...rest } = sources;
  return loadAgentConfig({
    hostname: 'host-1',
    interfaces: PRIVATE_INTERFACES,
    ...(fileText === undefined ? {} : { file: '/etc/grapevine.json', readFile: () => fileText }),
    ...rest,
  });
}

function config(sources: ConfigSources & { fileText?: string }) {
  const result = load(sources);
  assert.ok(result.ok, result.ok ? '' : formatIssues(result.issues));
  return result.config;
}

function issues(sources: ConfigSources & { fileText?: string }) {
  const result = load(sources);
  assert.equal(result.ok, false, 'expected the configuration to be refused');
  return result.ok ? [] : result.issues;
}

describe('defaults', () => {
  test('with no source at all, every option has its spec default and the name is the hostname', () => {
    const loaded = config({});
    assert.equal(loaded.name, 'host-1');
    assert.equal(loaded.bind, AGENT_OPTION_SPECS.bind.default);
    assert.equal(loaded.http, '127.0.0.1:7947');
    assert.equal(loaded.cluster, AGENT_OPTION_SPECS.cluster.default);
    assert.deepEqual(loaded.join, []);
    assert.equal(loaded.gossip.gossipIntervalMs, GOSSIP_OPTION_SPECS.gossipIntervalMs.default);
  });

  test('the default wildcard bind is refused on a machine with no address to advertise', () => {
    const found = issues({ interfaces: LOOPBACK_ONLY });
    assert.deepEqual(
      found.map((issue) => issue.path),
      ['advertise'],
    );
    assert.ok(config({ interfaces: LOOPBACK_ONLY, flags: { advertise: '127.0.0.1:7946' } }));
    assert.ok(config({ interfaces: LOOPBACK_ONLY, flags: { bind: '127.0.0.1:7946' } }));
  });
});

describe('precedence: flags > environment > file > defaults', () => {
  const fileText = JSON.stringify({
    name: 'from-file',
    bind: '127.0.0.1:1001',
    cluster: 'file-cluster',
    gossip: { fanout: 2, gossipIntervalMs: 500 },
  });
  const env = { GRAPEVINE_BIND: '127.0.0.1:2002', GRAPEVINE_FANOUT: '4', GRAPEVINE_CLUSTER: 'env-cluster' };

  test('each layer overrides only what it sets', () => {
    const loaded = config({ fileText, env, flags: { bind: '127.0.0.1:3003' } });
    assert.equal(loaded.bind, '127.0.0.1:3003', 'the flag wins');
    assert.equal(loaded.cluster, 'env-cluster', 'the environment beats the file');
    assert.equal(loaded.gossip.fanout, 4, 'a protocol variable beats the nested file value');
    assert.equal(loaded.gossip.gossipIntervalMs, 500, 'the file beats the default');
    assert.equal(loaded.name, 'from-file');
  });

  test('GRAPEVINE_CONFIG names the file when --config is absent', () => {
    const loaded = config({
      env: { GRAPEVINE_CONFIG: '/etc/other.json' },
      readFile: (path) => (path === '/etc/other.json' ? '{"name": "other"}' : '{}'),
    });
    assert.equal(loaded.name, 'other');
  });

  test('lists come comma-separated from the environment and repeated from flags', () => {
    const fromEnv = config({
      env: { GRAPEVINE_JOIN: '10.0.0.1:7946, 10.0.0.2:7946', GRAPEVINE_KEY: `${KEY_A},${KEY_B}` },
    });
    assert.deepEqual(fromEnv.join, ['10.0.0.1:7946', '10.0.0.2:7946']);
    assert.deepEqual(fromEnv.keys, [KEY_A, KEY_B]);
    const fromFlags = config({ flags: { join: ['10.0.0.3:7946', '10.0.0.4:7946'], key: [KEY_B] } });
    assert.deepEqual(fromFlags.join, ['10.0.0.3:7946', '10.0.0.4:7946']);
    assert.deepEqual(fromFlags.keys, [KEY_B]);
  });

  test('numbers and booleans are parsed from text', () => {
    const loaded = config({
      env: { GRAPEVINE_RETRY_JOIN: 'yes', GRAPEVINE_RETRY_JOIN_MAX: '7' },
      flags: { gossipIntervalMs: '250' },
    });
    assert.equal(loaded.retryJoin, true);
    assert.equal(loaded.retryJoinMax, 7);
    assert.equal(loaded.gossip.gossipIntervalMs, 250);
  });
});

describe('validation', () => {
  test('every problem is reported at once, each with its path and source', () => {
    const found = issues({
      fileText: JSON.stringify({ bnid: '127.0.0.1:1', leaveTimeoutMs: 'soon', gossip: { fanout: 17 } }),
      env: { GRAPEVINE_GOSSIP_INTERVAL_MS: 'fast', GRAPEVINE_RETRY_JOIN: 'maybe' },
      flags: { http: 'localhost', join: ['10.0.0.1:7946', '10.0.0.2'], logLevel: 'loud' },
    });
    const byPath = new Map(found.map((issue) => [issue.path, issue]));
    assert.deepEqual(
      [...byPath.keys()].sort(),
      [
        'bnid',
        'gossip.fanout',
        'gossip.gossipIntervalMs',
        'http',
        'join[1]',
        'leaveTimeoutMs',
        'logLevel',
        'retryJoin',
      ].sort(),
    );
    assert.equal(byPath.get('bnid')?.message, 'is not a known option');
    assert.equal(byPath.get('bnid')?.source, 'file /etc/grapevine.json');
    assert.equal(byPath.get('gossip.gossipIntervalMs')?.source, '$GRAPEVINE_GOSSIP_INTERVAL_MS');
    assert.match(byPath.get('gossip.gossipIntervalMs')?.message ?? '', /"fast"/);
    assert.equal(byPath.get('join[1]')?.source, '--join');
    assert.equal(byPath.get('http')?.source, '--http');
    const printed = formatIssues(found);
    assert.equal(printed.split('\n').length, found.length, 'one line per problem');
  });

  test("the protocol's cross-field rules are enforced under the gossip prefix", () => {
    const found = issues({ flags: { suspectPhi: '9', downPhi: '8' } });
    assert.deepEqual(
      found.map((issue) => issue.path),
      ['gossip.suspectPhi'],
    );
  });

  test('keys must be base64 of 32 bytes and distinct; the message names the position, never the key', () => {
    const short = Buffer.alloc(16, 3).toString('base64');
    const wrong = issues({ flags: { key: [KEY_A, short] } });
    assert.deepEqual(
      wrong.map((issue) => issue.path),
      ['keys[1]'],
    );
    assert.ok(!wrong[0]!.message.includes(short));
    assert.deepEqual(
      issues({ flags: { key: [KEY_A, KEY_A] } }).map((issue) => issue.path),
      ['keys[1]'],
    );
  });

  test('a file that is not JSON, or not an object, is a problem of its own', () => {
    assert.deepEqual(
      issues({ fileText: '{ name: ' }).map((issue) => issue.path),
      ['(file)'],
    );
    assert.deepEqual(
      issues({ fileText: '[1, 2]' }).map((issue) => issue.path),
      ['(file)'],
    );
    assert.deepEqual(
      issues({ fileText: '{"gossip": 3}' }).map((issue) => issue.path),
      ['gossip'],
    );
  });

  test('the verdict history keeps 512 records by default, is sized from any source, and must hold one', () => {
    assert.equal(config({}).verdictHistorySize, 512);
    assert.equal(config({ env: { GRAPEVINE_VERDICT_HISTORY_SIZE: '2048' } }).verdictHistorySize, 2048);
    assert.equal(config({ flags: { verdictHistorySize: '64' } }).verdictHistorySize, 64);
    for (const size of ['0', '1000001', '12.5', 'lots']) {
      const found = issues({ flags: { verdictHistorySize: size } });
      assert.deepEqual(
        found.map((issue) => `${issue.path} ${issue.source}`),
        ['verdictHistorySize --verdict-history-size'],
        size,
      );
    }
  });

  test('names are checked against the spec pattern', () => {
    assert.deepEqual(
      issues({ flags: { name: 'has space' } }).map((issue) => issue.path),
      ['name'],
    );
    assert.equal(config({ flags: { name: 'web-1.eu_west' } }).name, 'web-1.eu_west');
  });
});

describe('flag and variable names', () => {
  const definitions = flagDefinitions();

  test('derive from the spec names, with --key for the key list', () => {
    const byOption = new Map(definitions.map((definition) => [definition.option, definition]));
    assert.equal(byOption.get('gossipIntervalMs')?.flag, 'gossip-interval-ms');
    assert.equal(byOption.get('gossipIntervalMs')?.env, 'GRAPEVINE_GOSSIP_INTERVAL_MS');
    assert.equal(byOption.get('keys')?.flag, 'key');
    assert.equal(byOption.get('keys')?.env, 'GRAPEVINE_KEY');
    assert.equal(byOption.get('join')?.env, 'GRAPEVINE_JOIN');
    assert.equal(byOption.get('name')?.env, 'GRAPEVINE_NAME');
  });

  test('cover every agent option and every protocol option but the seeds, with no name twice', () => {
    const options = definitions.map((definition) => definition.option).sort();
    const expected = [
      ...Object.keys(AGENT_OPTION_SPECS),
      ...Object.keys(GOSSIP_OPTION_SPECS).filter((name) => name !== 'seeds'),
    ].sort();
    assert.deepEqual(options, expected);
    const flags = definitions.map((definition) => definition.flag);
    assert.equal(new Set(flags).size, flags.length);
  });
});
