// Pure registry logic: an alias's state from its moves, the rollback target, each version's status, and silent-change judgement.
import type { ModelMove, ModelVersionRecord, ObservationKind } from './types.js';

export type VersionStatus = 'active' | 'candidate' | 'deprecated' | 'retired';

/** What an alias's moves add up to. */
export interface AliasState {
  /** The version served; null before the config seeded it. */
  active: string | null;
  /** A staged version not yet promoted; null when none. */
  candidate: string | null;
  /** The unacknowledged silent change that blocks the alias (on_silent_change: block); null when serving. */
  blocked: ModelMove | null;
  /** Versions that were active, oldest first (a version active twice appears twice). */
  actives: string[];
  /** Versions rolled back from: never a rollback target again. */
  rolledBackFrom: Set<string>;
  /** When each version last changed status. */
  since: Map<string, number>;
}

export function aliasState(moves: readonly ModelMove[]): AliasState {
  const state: AliasState = { active: null, candidate: null, blocked: null, actives: [], rolledBackFrom: new Set(), since: new Map() };
  for (const move of moves) {
    const to = move.toVersion;
    switch (move.action) {
      case 'seeded':
      case 'promoted':
      case 'rolled_back':
        if (to === null) break;
        if (move.action === 'rolled_back' && move.fromVersion !== null) state.rolledBackFrom.add(move.fromVersion);
        if (state.active !== null) state.since.set(state.active, move.at);
        state.active = to;
        state.actives.push(to);
        state.since.set(to, move.at);
        if (state.candidate === to) state.candidate = null;
        // A person chose the version served: an earlier block is over.
        state.blocked = null;
        break;
      case 'staged':
        if (to === null) break;
        state.candidate = to === state.active ? null : to;
        state.since.set(to, move.at);
        break;
      case 'version_changed':
        if (move.detail?.blocked === true) state.blocked = move;
        break;
      case 'acknowledged':
        state.blocked = null;
        break;
    }
  }
  return state;
}

/** The last known-stable version: the most recent earlier active one that was never rolled back from; undefined when none. */
export function rollbackTarget(state: AliasState): string | undefined {
  for (let index = state.actives.length - 1; index >= 0; index--) {
    const version = state.actives[index]!;
    if (version !== state.active && !state.rolledBackFrom.has(version)) return version;
  }
  return undefined;
}

export function versionStatus(state: AliasState, record: Pick<ModelVersionRecord, 'version' | 'supportUntil' | 'deprecationNoticeAt'>, now: number): VersionStatus {
  if (record.version === state.active) return record.deprecationNoticeAt !== null && record.deprecationNoticeAt <= now ? 'deprecated' : 'active';
  if (record.version === state.candidate) return 'candidate';
  if (state.rolledBackFrom.has(record.version) || (record.supportUntil !== null && record.supportUntil <= now)) return 'retired';
  return 'deprecated';
}

/** What a version has returned so far, and how many calls it has served. */
export interface SeenValues {
  fingerprints: ReadonlySet<string>;
  models: ReadonlySet<string>;
  calls: number;
}

export interface ObservedChange {
  kind: ObservationKind;
  /** What was seen before (the baseline values), for the alert. */
  before: string[];
  after: string;
}

export interface Judgement {
  /** New values to record as expected (the baseline, or learnt). */
  learnt: { kind: ObservationKind; value: string }[];
  /** Silent changes: new values past learning, or a returned model id that is not the pinned version. */
  changes: ObservedChange[];
}

/**
 * A returned model id names the pinned version when it is the version itself, a dated or numbered snapshot of it
 * (gpt-4o-mini-2024-07-18, gemini-1.5-flash-002), or it with a path prefix (models/gemini-1.5-flash).
 */
export function namesVersion(returned: string, version: string): boolean {
  if (returned === version || returned.endsWith(`/${version}`)) return true;
  return returned.startsWith(`${version}-`) && /^[0-9][0-9-]*$/.test(returned.slice(version.length + 1));
}

/**
 * Compare one call's returned model id and fingerprint with what the version has returned before. The first value of
 * each kind is the baseline; during the first `learning` calls new ones are learnt; after that a new one is a change.
 * A returned model id that does not name the pinned version is a change at any time.
 * @example judge({ fingerprints: new Set(['fp_a']), models: new Set(), calls: 10 }, 0, 'gpt-4o', { model: 'gpt-4o', fingerprint: 'fp_b' })
 */
export function judge(seen: SeenValues, learning: number, version: string, observed: { model: string | null; fingerprint: string | null }): Judgement {
  const judgement: Judgement = { learnt: [], changes: [] };
  const learningNow = seen.calls < learning;
  if (observed.model !== null && !seen.models.has(observed.model)) {
    if (!namesVersion(observed.model, version) || (seen.models.size > 0 && !learningNow)) {
      judgement.changes.push({ kind: 'model', before: seen.models.size > 0 ? [...seen.models] : [version], after: observed.model });
    } else {
      judgement.learnt.push({ kind: 'model', value: observed.model });
    }
  }
  if (observed.fingerprint !== null && !seen.fingerprints.has(observed.fingerprint)) {
    if (seen.fingerprints.size > 0 && !learningNow) {
      judgement.changes.push({ kind: 'fingerprint', before: [...seen.fingerprints], after: observed.fingerprint });
    } else {
      judgement.learnt.push({ kind: 'fingerprint', value: observed.fingerprint });
    }
  }
  return judgement;
}
