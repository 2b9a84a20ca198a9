/**
 * A service that registers itself in a grapevine cluster and keeps an up-to-date list of its peers: the
 * pattern behind service discovery with Serf or Consul, embedded in the service itself.
 *
 *   npx tsx examples/service-registry.ts                        # first instance (a seed)
 *   JOIN=127.0.0.1:7946 PORT=7950 npx tsx examples/service-registry.ts   # more instances
 *
 * Each instance publishes `service/api` = its HTTP address and prints the healthy instances whenever the
 * list changes. Ctrl-C leaves gracefully, so the others drop it at once instead of after a failure timeout.
 */
import { hostname } from 'node:os';
import { createNode } from '../src/index.js';

const port = Number(process.env.PORT ?? 7946);
const node = await createNode({
  name: `${hostname()}-${port}`,
  bind: `127.0.0.1:${port}`,
  join: process.env.JOIN === undefined ? [] : process.env.JOIN.split(','),
  clusterName: 'registry-example',
});

let shown = '';
function showInstances(): void {
  const instances = node
    .members({ status: 'alive', key: 'service/api' })
    .map((member) => `${member.name} -> ${node.get(member.name, 'service/api')}`)
    .sort()
    .join('\n  ');
  if (instances === shown) return;
  shown = instances;
  console.log(`healthy api instances:\n  ${instances || '(none)'}`);
}

// Any membership change or key change can change the list.
node.on('*', showInstances);
node.set('service/api', `http://127.0.0.1:${port + 1000}`);
await node.start();
console.log(`${node.name} listening for gossip on ${node.address} (generation ${node.generation})`);
showInstances();

process.once('SIGINT', () => {
  console.log('leaving...');
  void node.leave().then(() => console.log('left'));
});
