/**
 * The agent's structured log: pino JSON lines on standard output, one line per thing an operator acts on
 * (configuration, lifecycle, joins, leaves, member status changes with the provenance of each verdict and,
 * for a return to alive, what it refuted, keyring changes) and a periodic summary of dropped frames.
 *
 * Invariant: nothing a peer sends maps to one log line per packet. Drops are summed and written at most once
 * per `dropLogIntervalMs`, so a flood of garbage costs a counter increment, not disk.
 */
import { type DestinationStream, type Logger, pino } from 'pino';
import type { ClusterEvent, MemberView } from '../core/index.js';
import type { GrapevineNode, VerdictRecord } from '../runtime/node-api.js';

export type AgentLogger = Logger;

/** A pino logger writing JSON lines to `destination` (standard output by default). */
export function createLogger(level: string, destination?: DestinationStream): AgentLogger {
  const options = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination === undefined ? pino(options) : pino(options, destination);
}

/** The fields an operator needs about a member, with the verdict's provenance when it has one. */
export function memberFields(member: MemberView): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    member: member.name,
    address: member.address,
    generation: member.generation,
    status: member.status,
  };
  if (member.verdict !== null) {
    fields.accuser = member.verdict.accuser;
    fields.reason = member.verdict.reason;
    fields.phi = member.verdict.phiHundredths / 100;
    fields.silenceMs = member.verdict.silenceMs;
  }
  return fields;
}

const MESSAGES: Readonly<Record<Exclude<ClusterEvent['type'], 'key-updated'>, string>> = {
  'member-joined': 'member joined',
  'member-alive': 'member is alive',
  'member-suspect': 'member is suspect',
  'member-down': 'member is down',
  'member-left': 'member left',
  'member-restarted': 'member restarted with a new generation',
  'member-reaped': 'member reaped',
};

/**
 * The fields the verdict history adds to a status change: the status it left, and for a return to alive,
 * what it refuted (the verdict's heartbeat and provenance) and the heartbeat that beat it.
 */
export function changeFields(record: VerdictRecord | undefined): Record<string, unknown> {
  if (record === undefined) return {};
  const fields: Record<string, unknown> = { from: record.from, heartbeat: record.heartbeat };
  const refuted = record.refuted;
  if (refuted !== null) {
    fields.refutedStatus = refuted.status;
    fields.refutedAtHeartbeat = refuted.verdictHeartbeat;
    if (refuted.verdict !== null) {
      fields.refutedAccuser = refuted.verdict.accuser;
      fields.refutedReason = refuted.verdict.reason;
      fields.refutedPhi = refuted.verdict.phi;
    }
  }
  return fields;
}

/**
 * Logs one cluster event: membership at info (suspect and down at warn), key changes at debug. `record` is
 * the verdict history's record of the change, when the event made one.
 */
export function logClusterEvent(logger: AgentLogger, event: ClusterEvent, record?: VerdictRecord): void {
  if (event.type === 'key-updated') {
    logger.debug(
      {
        event: event.type,
        owner: event.owner,
        key: event.key,
        version: event.version,
        deleted: event.value === null,
      },
      'key updated',
    );
    return;
  }
  const fields: Record<string, unknown> = {
    event: event.type,
    ...memberFields(event.member),
    ...changeFields(record),
  };
  if (event.type === 'member-alive') fields.previousStatus = event.previousStatus;
  if (event.type === 'member-restarted') fields.previousGeneration = event.previousGeneration;
  const level = event.type === 'member-suspect' || event.type === 'member-down' ? 'warn' : 'info';
  logger[level](fields, MESSAGES[event.type]);
}

/**
 * Every `intervalMs`, logs the frames dropped since the last summary, by reason (nothing when none were).
 * Returns a function that stops the timer.
 */
export function startDropSummary(logger: AgentLogger, node: GrapevineNode, intervalMs: number): () => void {
  let previous: Record<string, number> = {};
  const summarize = () => {
    const current = { ...node.stats().runner.drops };
    const since: Record<string, number> = {};
    let total = 0;
    for (const [reason, count] of Object.entries(current)) {
      const delta = count - (previous[reason] ?? 0);
      if (delta > 0) {
        since[reason] = delta;
        total += delta;
      }
    }
    previous = current;
    if (total > 0) logger.warn({ dropped: since, total, intervalMs }, 'dropped frames from peers');
  };
  const timer = setInterval(summarize, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
