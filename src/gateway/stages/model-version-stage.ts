// Pipeline stage for the model registry: refuse a blocked alias, send deprecation headers, watch for silent upstream changes, mirror shadow traffic.
import { CovenantError } from '../../core/errors.js';
import type { Stage } from '../context.js';
import { pickStreamShadow, runShadow, shadowCandidate, type ShadowServices } from '../shadow.js';

/** What the stage needs: the registry, the providers (for shadow calls) and the ledger. */
export type ModelStageServices = ShadowServices;

export function createModelVersionStage(services: ModelStageServices): Stage {
  const { registry } = services;
  return {
    name: 'model_version',
    admit(context) {
      // A staging key's call goes to the mock, not to the upstream that changed.
      if (context.state.routedToMock) return;
      const alias = context.model.alias;
      const blocked = registry.blocked(alias);
      if (blocked) {
        const detail = blocked.detail ?? {};
        throw new CovenantError('model_version_changed',
          `The upstream behind "${alias}" (${blocked.toVersion}) changed without a new version: ${String(detail.changed)} `
          + `${(detail.before as string[] | undefined)?.join(', ') ?? '?'} became ${String(detail.after)}. `
          + `It is blocked until a person acknowledges it: covenant models ack ${alias} (or roll it back: covenant models rollback ${alias}).`);
      }
      const headers = registry.headers(alias, context.model.version);
      if (headers !== null) Object.assign(context.responseHeaders, headers);
      pickStreamShadow(services, context);
    },
    finished(context) {
      if (context.model === null || context.outcome.kind !== 'completed' || context.state.routedToMock) return;
      registry.observe(context.model.alias, context.model.version, { model: context.upstreamModel, fingerprint: context.systemFingerprint }, context.id);
      const streamed = context.state.shadowStream;
      // A streamed answer is compared only when it ended well and in full.
      const whole = context.streamError === null && context.outcome.cancelled !== true;
      const target = streamed !== undefined ? (whole ? streamed.target : undefined) : shadowCandidate(services, context);
      if (target) registry.background(runShadow(services, context, target));
    },
  };
}
