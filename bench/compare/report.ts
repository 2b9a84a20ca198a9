/**
 * Turns the side-by-side results into the tables of docs/benchmarks.md and the list of targets from the
 * "Faster and calmer than Serf" issue, each marked met or missed. It owns no measurement: every number
 * comes from the run's results, and a target whose inputs are missing is reported as not evaluated.
 */
import { markdownTable } from '../lib/report.js';
import type { DetectionTrial, PropagationTrial, RestResult } from './measure.js';
import { maximum, mean, median } from './measure.js';
import type { LossResult, PartitionResult, RestartResult, StallResult } from './scenarios.js';

export type SystemName = 'serf' | 'grapevine';

export interface Baseline {
  readonly joinSeconds: number;
  readonly detection: readonly DetectionTrial[];
  readonly propagation: readonly PropagationTrial[];
  readonly rest: RestResult;
}

/** A result, or the error that prevented it (the report shows the error in place of the numbers). */
export type Outcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

export interface Results {
  readonly baselines: Map<number, Partial<Record<SystemName, Outcome<Baseline>>>>;
  readonly faultNodes: number;
  readonly loss: Partial<Record<SystemName, Outcome<LossResult>>>;
  readonly stall: Partial<Record<SystemName, Outcome<StallResult>>>;
  readonly partition: Partial<Record<SystemName, Outcome<PartitionResult>>>;
  readonly restart: Partial<Record<SystemName, Outcome<RestartResult>>>;
}

export interface Target {
  readonly description: string;
  readonly value: string;
  /** null when the run did not produce what the target needs. */
  readonly met: boolean | null;
}

const MiB = 2 ** 20;

function successOf<T>(outcome: Outcome<T> | undefined): T | undefined {
  return outcome?.ok === true ? outcome.value : undefined;
}

function format(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined || Number.isNaN(value) ? '–' : value.toFixed(digits);
}

function ratio(grapevine: number | undefined, serf: number | undefined): number | undefined {
  if (grapevine === undefined || serf === undefined || serf === 0) return undefined;
  return grapevine / serf;
}

/** The numbers of one baseline that the tables and the targets use. */
function summarize(baseline: Baseline | undefined) {
  if (baseline === undefined) return undefined;
  const detection = baseline.detection.map((trial) => trial.allSeconds);
  return {
    join: baseline.joinSeconds,
    detectionMedian: median(detection),
    detectionMax: maximum(detection),
    propagationMedian: median(baseline.propagation.map((trial) => trial.seconds)),
    cpu: median(baseline.rest.cpuPercent),
    rssMiB: median(baseline.rest.rssBytes) / MiB,
    bytesPerSecond: mean(baseline.rest.sentBytesPerSecond),
  };
}

type Summary = NonNullable<ReturnType<typeof summarize>>;

const METRICS: readonly {
  key: keyof Summary;
  label: string;
  digits: number;
  target: (nodes: number) => string;
}[] = [
  { key: 'join', label: 'join convergence (s)', digits: 2, target: () => '' },
  { key: 'detectionMedian', label: 'detection, median (s)', digits: 2, target: () => '≤ 0.5' },
  { key: 'detectionMax', label: 'detection, max (s)', digits: 2, target: () => '' },
  { key: 'propagationMedian', label: 'update propagation, median (s)', digits: 3, target: () => '≤ 1' },
  { key: 'cpu', label: 'CPU per agent at rest (% of a core, median)', digits: 2, target: () => '≤ 2' },
  { key: 'rssMiB', label: 'resident memory per agent (MiB, median)', digits: 1, target: () => '' },
  {
    key: 'bytesPerSecond',
    label: 'bytes sent per agent per second at rest (mean)',
    digits: 0,
    target: (nodes) => (nodes === 30 ? '≤ 2' : nodes === 60 ? '≤ 3' : ''),
  },
];

function errorCell(outcome: Outcome<unknown> | undefined): string | undefined {
  if (outcome === undefined) return 'not run';
  return outcome.ok ? undefined : `error: ${outcome.error.replace(/\|/g, '/').slice(0, 80)}`;
}

export function baselineTable(results: Results): string {
  const rows: (string | number)[][] = [];
  for (const [nodes, outcomes] of [...results.baselines].sort((a, b) => a[0] - b[0])) {
    const serf = summarize(successOf(outcomes.serf));
    const grapevine = summarize(successOf(outcomes.grapevine));
    for (const metric of METRICS) {
      const serfValue = serf?.[metric.key];
      const grapevineValue = grapevine?.[metric.key];
      rows.push([
        nodes,
        metric.label,
        errorCell(outcomes.serf) ?? format(serfValue, metric.digits),
        errorCell(outcomes.grapevine) ?? format(grapevineValue, metric.digits),
        format(ratio(grapevineValue, serfValue), 2),
        metric.target(nodes),
      ]);
    }
  }
  return markdownTable(['N', 'measure', 'Serf', 'grapevine', 'grapevine / Serf', 'target ratio'], rows);
}

function cell<T>(outcome: Outcome<T> | undefined, render: (value: T) => string): string {
  return errorCell(outcome) ?? render((outcome as { value: T }).value);
}

export function faultTable(results: Results): string {
  const both = <T>(outcomes: Partial<Record<SystemName, Outcome<T>>>, render: (value: T) => string) => [
    cell(outcomes.serf, render),
    cell(outcomes.grapevine, render),
  ];
  const seconds = (value: number | null) => (value === null ? 'never (deadline)' : `${value.toFixed(1)} s`);
  const rows: string[][] = [
    [
      `1. ${successOf(results.loss.grapevine ?? results.loss.serf)?.lossPercent ?? 10}% loss in and out of every agent`,
      'false verdicts (distinct accused)',
      ...both(
        results.loss,
        (result) =>
          `${result.falseVerdicts} (${result.accused}) in ${(result.durationSeconds / 60).toFixed(1)} min`,
      ),
      '0 for grapevine',
    ],
    [
      '2. one agent stalled 2 s every 10 s',
      'false verdicts against it / by it',
      ...both(
        results.stall,
        (result) => `${result.falseAgainst} / ${result.falseBy} over ${result.shortStalls} stalls`,
      ),
      '0 for grapevine',
    ],
    [
      '2. the same agent stalled 8 s',
      'stalls detected by every other agent',
      ...both(
        results.stall,
        (result) =>
          `${result.longDetected} of ${result.longStalls}` +
          (result.longDetected > 0 ? ` (median ${median(result.longDetectionSeconds).toFixed(1)} s)` : ''),
      ),
      'detected',
    ],
    [
      '3. one-way partition between halves, healed',
      'failed verdicts while cut; reconvergence after healing',
      ...both(
        results.partition,
        (result) => `${result.oneWayVerdicts}; ${seconds(result.oneWayReconvergeSeconds)}`,
      ),
      '',
    ],
    [
      '3. halves split, healed',
      'each side marks the other; reconvergence after healing',
      ...both(
        results.partition,
        (result) => `${seconds(result.splitDetectedSeconds)}; ${seconds(result.splitReconvergeSeconds)}`,
      ),
      '',
    ],
    [
      '4. every agent restarted at once',
      'all alive in every view (failed verdicts after; wrong views at the end)',
      ...both(
        results.restart,
        (result) => `${seconds(result.convergedSeconds)} (${result.verdictsAfter}; ${result.wrongViews})`,
      ),
      'all alive',
    ],
  ];
  return markdownTable(
    [`scenario (N = ${results.faultNodes})`, 'measure', 'Serf', 'grapevine', 'target'],
    rows,
  );
}

/** Every target of the issue, evaluated on this run. */
export function evaluateTargets(results: Results): Target[] {
  const targets: Target[] = [];
  const compare = (description: string, value: number | undefined, limit: number, digits = 2) =>
    targets.push({
      description,
      value: value === undefined || Number.isNaN(value) ? 'not measured' : value.toFixed(digits),
      met: value === undefined || Number.isNaN(value) ? null : value <= limit,
    });
  for (const [nodes, outcomes] of [...results.baselines].sort((a, b) => a[0] - b[0])) {
    const serf = summarize(successOf(outcomes.serf));
    const grapevine = summarize(successOf(outcomes.grapevine));
    compare(
      `N=${nodes}: detection median, grapevine / Serf ≤ 0.5`,
      ratio(grapevine?.detectionMedian, serf?.detectionMedian),
      0.5,
    );
    compare(`N=${nodes}: CPU per agent, grapevine / Serf ≤ 2`, ratio(grapevine?.cpu, serf?.cpu), 2);
    compare(
      `N=${nodes}: key set reaches all no slower than a Serf user event (ratio ≤ 1)`,
      ratio(grapevine?.propagationMedian, serf?.propagationMedian),
      1,
    );
    if (nodes === 30 || nodes === 60) {
      const limit = nodes === 30 ? 2 : 3;
      compare(
        `N=${nodes}: bytes per agent per second, grapevine / Serf ≤ ${limit}`,
        ratio(grapevine?.bytesPerSecond, serf?.bytesPerSecond),
        limit,
      );
    }
  }
  const loss = successOf(results.loss.grapevine);
  if (results.loss.grapevine !== undefined) {
    compare('loss: grapevine false verdicts = 0', loss?.falseVerdicts, 0, 0);
  }
  const stall = successOf(results.stall.grapevine);
  if (results.stall.grapevine !== undefined) {
    compare(
      '2-second stalls: grapevine false verdicts = 0',
      stall === undefined ? undefined : stall.falseAgainst + stall.falseBy,
      0,
      0,
    );
    targets.push({
      description: '8-second stalls: grapevine detects every one',
      value: stall === undefined ? 'not measured' : `${stall.longDetected} of ${stall.longStalls}`,
      met: stall === undefined ? null : stall.longDetected === stall.longStalls,
    });
  }
  const restart = successOf(results.restart.grapevine);
  if (results.restart.grapevine !== undefined) {
    targets.push({
      description: 'mass restart: every grapevine agent alive in every view',
      value: restart === undefined ? 'not measured' : restart.convergedSeconds === null ? 'no' : 'yes',
      met:
        restart === undefined
          ? null
          : restart.convergedSeconds !== null && restart.verdictsAfter === 0 && restart.wrongViews === 0,
    });
  }
  return targets;
}

export function targetTable(targets: readonly Target[]): string {
  return markdownTable(
    ['target', 'this run', 'met'],
    targets.map((target) => [
      target.description,
      target.value,
      target.met === null ? 'not evaluated' : target.met ? 'yes' : 'NO',
    ]),
  );
}
