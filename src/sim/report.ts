/**
 * Summaries of simulation runs: the aggregate numbers `grapevine sim` prints (a table, or one JSON object
 * whose fields docs/simulation.md documents) and an SVG chart of how one update spreads round by round.
 *
 * Percentiles use the nearest-rank method: p99 of 20 runs is the largest of them, so "p99 over 20 seeds"
 * is never flattered by interpolation.
 */
import { scaleLinear, scaleLog } from 'd3-scale';
import { line } from 'd3-shape';
import type { Violation } from './checkers.js';
import type { RunReport, ScenarioName } from './scenarios.js';

export interface SimSummary {
  readonly scenario: ScenarioName;
  readonly nodes: number;
  readonly fanout: number;
  readonly intervalMs: number;
  readonly runs: number;
  readonly lossRate: number;
  /** Protocol options set for the run besides fanout and interval (`--set`); the rest are defaults. */
  readonly options: Readonly<Record<string, number>>;
  /** First seed; run i used seed + i. */
  readonly seed: number;
  readonly convergence: {
    readonly roundsP50: number;
    readonly roundsP99: number;
    readonly roundsMax: number;
    readonly runsConverged: number;
  } | null;
  readonly detection: {
    readonly allNodesSecondsP50: number;
    readonly allNodesSecondsMax: number;
    readonly firstNodeSecondsP50: number;
    readonly crashMode: 'process' | 'host';
  } | null;
  readonly falsePositives: number;
  readonly suspicions: number;
  /** Median over runs of payload bytes (frames, without UDP/IP headers) each node sent per second at rest. */
  readonly bytesPerNodePerSecond: number;
  readonly bytesPerNodePerRound: number;
  readonly datagramsPerNodePerSecond: number;
  readonly largestDatagramBytes: number;
  /** Mean over runs of the fraction of nodes holding the new key after each round. */
  readonly informedByRound: readonly number[];
  readonly details: readonly Record<string, number | string | boolean>[];
  readonly violations: readonly (Violation & { readonly seed: number })[];
  readonly wallSeconds: number;
  readonly peakRssBytes: number;
}

export function percentile(values: readonly number[], fraction: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(fraction * sorted.length));
  return sorted[rank - 1]!;
}

export function summarize(
  reports: readonly RunReport[],
  context: {
    fanout: number;
    intervalMs: number;
    lossRate: number;
    wallSeconds: number;
    peakRssBytes: number;
    options?: Readonly<Record<string, number>>;
  },
): SimSummary {
  const first = reports[0]!;
  const rounds = reports
    .map((report) => report.convergenceRounds)
    .filter((value): value is number => value !== null);
  const detectionAll = reports
    .map((report) => report.detectionAllSeconds)
    .filter((value): value is number => value !== null);
  const detectionFirst = reports
    .map((report) => report.detectionFirstSeconds)
    .filter((value): value is number => value !== null);
  const bytes = percentile(
    reports.map((report) => report.bytesPerNodePerSecond),
    0.5,
  );
  const longest = Math.max(0, ...reports.map((report) => report.informedByRound.length));
  const informedByRound: number[] = [];
  for (let round = 0; round < longest; round++) {
    let total = 0;
    for (const report of reports) total += report.informedByRound[round] ?? 1;
    informedByRound.push(total / reports.length);
  }
  return {
    scenario: first.scenario,
    nodes: first.nodes,
    fanout: context.fanout,
    intervalMs: context.intervalMs,
    runs: reports.length,
    lossRate: context.lossRate,
    options: context.options ?? {},
    seed: first.seed,
    convergence:
      first.scenario === 'converge'
        ? {
            roundsP50: percentile(rounds, 0.5),
            roundsP99: percentile(rounds, 0.99),
            roundsMax: rounds.length === 0 ? Number.NaN : Math.max(...rounds),
            runsConverged: rounds.length,
          }
        : null,
    detection:
      first.scenario === 'crash'
        ? {
            allNodesSecondsP50: percentile(detectionAll, 0.5),
            allNodesSecondsMax: detectionAll.length === 0 ? Number.NaN : Math.max(...detectionAll),
            firstNodeSecondsP50: percentile(detectionFirst, 0.5),
            crashMode: first.details.crashMode === 'host' ? 'host' : 'process',
          }
        : null,
    falsePositives: reports.reduce((total, report) => total + report.falsePositives, 0),
    suspicions: reports.reduce((total, report) => total + report.suspicions, 0),
    bytesPerNodePerSecond: bytes,
    bytesPerNodePerRound: (bytes * context.intervalMs) / 1000,
    datagramsPerNodePerSecond: percentile(
      reports.map((report) => report.datagramsPerNodePerSecond),
      0.5,
    ),
    largestDatagramBytes: Math.max(...reports.map((report) => report.largestDatagramBytes)),
    informedByRound,
    details: reports.map((report) => report.details),
    violations: reports.flatMap((report) =>
      report.violations.map((violation) => ({ ...violation, seed: report.seed })),
    ),
    wallSeconds: context.wallSeconds,
    peakRssBytes: context.peakRssBytes,
  };
}

function optionRows(options: Readonly<Record<string, number>>): [string, string][] {
  const settings = Object.entries(options).map(([name, value]) => `${name}=${value}`);
  return settings.length === 0 ? [] : [['options', settings.join(' ')]];
}

function format(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

/** A readable two-column table of one summary. */
export function formatTable(summary: SimSummary): string {
  const rows: [string, string][] = [
    ['scenario', summary.scenario],
    ['nodes', String(summary.nodes)],
    ['fanout', String(summary.fanout)],
    ['interval', `${summary.intervalMs} ms`],
    ['loss', `${(summary.lossRate * 100).toFixed(1)} %`],
    ...optionRows(summary.options),
    ['runs (seeds)', `${summary.runs} (${summary.seed}..${summary.seed + summary.runs - 1})`],
  ];
  if (summary.convergence !== null) {
    const convergence = summary.convergence;
    rows.push(['rounds to every node, p50', format(convergence.roundsP50)]);
    rows.push(['rounds to every node, p99', format(convergence.roundsP99)]);
    rows.push(['rounds to every node, max', format(convergence.roundsMax)]);
    rows.push(['runs that converged', `${convergence.runsConverged} of ${summary.runs}`]);
  }
  if (summary.detection !== null) {
    const detection = summary.detection;
    rows.push([
      'crash kind',
      detection.crashMode === 'process' ? 'process (host up)' : 'whole host (silent)',
    ]);
    rows.push(['first node marks it down, p50', `${format(detection.firstNodeSecondsP50)} s`]);
    rows.push(['every node marks it down, p50', `${format(detection.allNodesSecondsP50)} s`]);
    rows.push(['every node marks it down, max', `${format(detection.allNodesSecondsMax)} s`]);
  }
  rows.push(['false down verdicts', String(summary.falsePositives)]);
  rows.push(['suspicions', String(summary.suspicions)]);
  rows.push(['bytes per node per second', format(summary.bytesPerNodePerSecond, 0)]);
  rows.push(['bytes per node per round', format(summary.bytesPerNodePerRound, 0)]);
  rows.push(['datagrams per node per second', format(summary.datagramsPerNodePerSecond)]);
  rows.push(['largest datagram', `${summary.largestDatagramBytes} bytes`]);
  rows.push(['checker violations', String(summary.violations.length)]);
  rows.push(['wall time', `${format(summary.wallSeconds, 1)} s`]);
  rows.push(['peak memory (RSS)', `${Math.round(summary.peakRssBytes / 2 ** 20)} MiB`]);
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`);
  for (const violation of summary.violations.slice(0, 10)) {
    lines.push(
      `VIOLATION seed=${violation.seed} t=${(violation.atMs / 1000).toFixed(3)}s ${violation.checker}: ${violation.message}`,
    );
  }
  return lines.join('\n');
}

const COLORS = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02'];

/**
 * Two panels: the fraction of nodes informed after each round for every N simulated, and the rounds every
 * node needed (p50 and p99) against N on a log axis, beside the log3(N) curve of an idealised push-pull.
 */
export function renderChart(summaries: readonly SimSummary[]): string {
  const width = 960;
  const height = 420;
  const panel = { top: 50, bottom: 360, leftA: 60, rightA: 440, leftB: 540, rightB: 920 };
  const rounds = Math.max(2, ...summaries.map((summary) => summary.informedByRound.length - 1));
  const x = scaleLinear().domain([0, rounds]).range([panel.leftA, panel.rightA]);
  const y = scaleLinear().domain([0, 1]).range([panel.bottom, panel.top]);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
  );
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(
    `<text x="${panel.leftA}" y="24" font-size="14" font-weight="bold">Fraction of nodes holding a new key, per round</text>`,
  );
  for (const tick of x.ticks(Math.min(rounds, 10))) {
    parts.push(
      `<line x1="${x(tick)}" x2="${x(tick)}" y1="${panel.top}" y2="${panel.bottom}" stroke="#eee"/>`,
    );
    parts.push(`<text x="${x(tick)}" y="${panel.bottom + 16}" text-anchor="middle">${tick}</text>`);
  }
  for (const tick of y.ticks(5)) {
    parts.push(
      `<line x1="${panel.leftA}" x2="${panel.rightA}" y1="${y(tick)}" y2="${y(tick)}" stroke="#eee"/>`,
    );
    parts.push(`<text x="${panel.leftA - 6}" y="${y(tick) + 4}" text-anchor="end">${tick.toFixed(1)}</text>`);
  }
  parts.push(
    `<text x="${(panel.leftA + panel.rightA) / 2}" y="${panel.bottom + 34}" text-anchor="middle">gossip rounds after the write</text>`,
  );
  const path = line<[number, number]>()
    .x(([round]) => x(round))
    .y(([, fraction]) => y(fraction));
  summaries.forEach((summary, index) => {
    const color = COLORS[index % COLORS.length]!;
    const points = summary.informedByRound.map((fraction, round) => [round, fraction] as [number, number]);
    parts.push(`<path d="${path(points) ?? ''}" fill="none" stroke="${color}" stroke-width="2"/>`);
    parts.push(
      `<text x="${panel.leftA + 10}" y="${panel.top + 16 + index * 16}" fill="${color}">N = ${summary.nodes}</text>`,
    );
  });
  renderRoundsPanel(parts, summaries, panel);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function renderRoundsPanel(
  parts: string[],
  summaries: readonly SimSummary[],
  panel: { top: number; bottom: number; leftB: number; rightB: number },
): void {
  const nodes = summaries.map((summary) => summary.nodes);
  const low = Math.min(10, ...nodes);
  const high = Math.max(100_000, ...nodes);
  const x = scaleLog().domain([low, high]).range([panel.leftB, panel.rightB]);
  const worst = Math.max(10, ...summaries.map((summary) => summary.convergence?.roundsMax ?? 0));
  const y = scaleLinear()
    .domain([0, Math.ceil(worst)])
    .range([panel.bottom, panel.top]);
  parts.push(
    `<text x="${panel.leftB}" y="24" font-size="14" font-weight="bold">Rounds until every node has it</text>`,
  );
  for (let decade = Math.ceil(Math.log10(low)); 10 ** decade <= high; decade++) {
    const value = 10 ** decade;
    parts.push(
      `<line x1="${x(value)}" x2="${x(value)}" y1="${panel.top}" y2="${panel.bottom}" stroke="#eee"/>`,
    );
    parts.push(
      `<text x="${x(value)}" y="${panel.bottom + 16}" text-anchor="middle">${value.toLocaleString('en')}</text>`,
    );
  }
  for (const tick of y.ticks(5)) {
    parts.push(
      `<line x1="${panel.leftB}" x2="${panel.rightB}" y1="${y(tick)}" y2="${y(tick)}" stroke="#eee"/>`,
    );
    parts.push(`<text x="${panel.leftB - 6}" y="${y(tick) + 4}" text-anchor="end">${tick}</text>`);
  }
  parts.push(
    `<text x="${(panel.leftB + panel.rightB) / 2}" y="${panel.bottom + 34}" text-anchor="middle">nodes (log scale)</text>`,
  );
  const curve: [number, number][] = [];
  for (let n = low; n <= high; n *= 1.25) curve.push([n, Math.log(n) / Math.log(3)]);
  const path = line<[number, number]>()
    .x(([n]) => x(n))
    .y(([rounds]) => y(rounds));
  parts.push(
    `<path d="${path(curve) ?? ''}" fill="none" stroke="#999" stroke-dasharray="5,4" stroke-width="1.5"/>`,
  );
  parts.push(
    `<text x="${panel.rightB - 4}" y="${y(Math.log(high) / Math.log(3)) - 6}" text-anchor="end" fill="#777">log3 N</text>`,
  );
  summaries.forEach((summary, index) => {
    if (summary.convergence === null) return;
    const color = COLORS[index % COLORS.length]!;
    const cx = x(summary.nodes);
    parts.push(`<circle cx="${cx}" cy="${y(summary.convergence.roundsP50)}" r="5" fill="${color}"/>`);
    parts.push(
      `<circle cx="${cx}" cy="${y(summary.convergence.roundsP99)}" r="5" fill="none" stroke="${color}" stroke-width="2"/>`,
    );
  });
  parts.push(
    `<circle cx="${panel.leftB + 12}" cy="${panel.top + 10}" r="5" fill="#444"/><text x="${panel.leftB + 22}" y="${panel.top + 14}">p50</text>`,
  );
  parts.push(
    `<circle cx="${panel.leftB + 62}" cy="${panel.top + 10}" r="5" fill="none" stroke="#444" stroke-width="2"/><text x="${panel.leftB + 72}" y="${panel.top + 14}">p99</text>`,
  );
}
