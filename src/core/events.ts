/**
 * Cluster events: one discriminated union, produced by the core as outputs of a step and delivered by the
 * shell after the step returns (never from inside it).
 */
import type { MemberStatus, VerdictNote } from '../wire/index.js';

/** A read-only picture of one member as this node sees it. */
export interface MemberView {
  readonly name: string;
  readonly generation: number;
  readonly address: string;
  readonly status: MemberStatus;
  readonly heartbeat: number;
  readonly maxVersion: number;
  /** Local time of the last status change. */
  readonly statusChangedAtMs: number;
  /** Why the member is suspect, down or left (null while alive). */
  readonly verdict: VerdictNote | null;
  readonly isSelf: boolean;
}

export type ClusterEvent =
  | { readonly type: 'member-joined'; readonly atMs: number; readonly member: MemberView }
  | {
      readonly type: 'member-alive';
      readonly atMs: number;
      readonly member: MemberView;
      readonly previousStatus: MemberStatus;
    }
  | { readonly type: 'member-suspect'; readonly atMs: number; readonly member: MemberView }
  | { readonly type: 'member-down'; readonly atMs: number; readonly member: MemberView }
  | { readonly type: 'member-left'; readonly atMs: number; readonly member: MemberView }
  | {
      readonly type: 'member-restarted';
      readonly atMs: number;
      readonly member: MemberView;
      readonly previousGeneration: number;
    }
  | { readonly type: 'member-reaped'; readonly atMs: number; readonly member: MemberView }
  | {
      readonly type: 'key-updated';
      readonly atMs: number;
      readonly owner: string;
      readonly key: string;
      /** null when the key was deleted. */
      readonly value: string | null;
      readonly version: number;
    };

export type ClusterEventType = ClusterEvent['type'];

export const CLUSTER_EVENT_TYPES: readonly ClusterEventType[] = [
  'member-joined',
  'member-alive',
  'member-suspect',
  'member-down',
  'member-left',
  'member-restarted',
  'member-reaped',
  'key-updated',
];
