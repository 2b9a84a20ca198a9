/**
 * The simulator as a benchmark runs it: the sources (through tsx, as the benchmark itself runs) or the
 * build in dist/ (`npm run build`), which is what the `grapevine` executable runs. The specifier is built at
 * run time so that type-checking does not need dist/ to exist; the types are the sources' own.
 */
import type { Checkers } from '../../src/sim/checkers.js';
import type { SimCluster } from '../../src/sim/cluster.js';

export interface Simulator {
  readonly SimCluster: typeof SimCluster;
  readonly Checkers: typeof Checkers;
}

export async function loadSimulator(from: 'src' | 'dist'): Promise<Simulator> {
  const root = from === 'dist' ? '../../dist' : '../../src';
  const cluster = (await import(`${root}/sim/cluster.js`)) as { SimCluster: typeof SimCluster };
  const checkers = (await import(`${root}/sim/checkers.js`)) as { Checkers: typeof Checkers };
  return { SimCluster: cluster.SimCluster, Checkers: checkers.Checkers };
}
