/**
 * Three grapevine nodes embedded in one Node.js process, on real UDP and TCP sockets on loopback: they
 * join, share a key, watch a prefix, stream events, and one leaves gracefully.
 *
 *   npx tsx examples/embedded-cluster.ts
 *
 * In your own code, import from 'grapevine' instead of '../src/index.js'.
 */
import { createNode, type GrapevineNode } from '../src/index.js';

const gossip = { gossipIntervalMs: 200 };

async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const first = await createNode({ name: 'alpha', bind: '127.0.0.1:0', gossip });
await first.start();
const others: GrapevineNode[] = [];
for (const name of ['beta', 'gamma']) {
  const node = await createNode({ name, bind: '127.0.0.1:0', join: [first.address], gossip });
  await node.start();
  others.push(node);
}
const [beta, gamma] = others as [GrapevineNode, GrapevineNode];

// Typed listeners return an unsubscribe function; events arrive after the protocol step that made them.
const stopListening = first.on('member-left', (event) => {
  console.log(`alpha: ${event.member.name} left (${event.member.verdict?.reason})`);
});

await waitUntil(() => first.members({ status: 'alive' }).length === 3);
console.log(
  'alpha sees:',
  first.members().map((member) => `${member.name}@${member.address} ${member.status}`),
);

// Every node owns a small key-value map; any node reads any other's.
const stopWatching = gamma.watch('service/', (update) => {
  console.log(`gamma: ${update.owner} ${update.key} = ${update.value}`);
});
beta.set('service/http', '127.0.0.1:8080');
await waitUntil(() => gamma.get('beta', 'service/http') !== undefined);
console.log(
  'members offering http:',
  gamma.members({ key: 'service/http' }).map((member) => member.name),
);

// A bounded async iterator of events; a slow consumer gets an 'events-dropped' marker instead of a leak.
const events = first.events({ bufferSize: 64, types: ['key-updated'] });
gamma.set('load', '0.42');
for await (const event of events) {
  if (event.type === 'key-updated' && event.owner === 'gamma') {
    console.log(`alpha: event ${event.type} ${event.owner}/${event.key} = ${event.value}`);
    break;
  }
}

// A graceful leave announces itself; the others see 'left', not 'down'.
await beta.leave();
await waitUntil(() => first.member('beta')?.status === 'left');
stopWatching();
stopListening();
await Promise.all([first.stop(), gamma.stop()]);
console.log('done');
