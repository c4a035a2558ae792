// A CI context as span attributes, under the `sidegate.ci.*` names: the broker's decisions and the
// token exchange's outcomes name a run with the same keys, so one query finds both. Pure.
import type { CiContext } from './ci-context.js';

const ATTRIBUTE_NAMES: Record<keyof CiContext, string> = {
  system: 'sidegate.ci.system',
  repository: 'sidegate.ci.repository',
  ref: 'sidegate.ci.ref',
  workflow: 'sidegate.ci.workflow',
  pipeline: 'sidegate.ci.pipeline',
  job: 'sidegate.ci.job',
  runId: 'sidegate.ci.run_id',
  runUrl: 'sidegate.ci.run_url',
  commit: 'sidegate.ci.commit',
  actor: 'sidegate.ci.actor',
  environment: 'sidegate.ci.environment',
};

/** The present fields of `ci` under their attribute names; nothing for no context. */
export function ciAttributes(ci: CiContext | undefined): Record<string, string> {
  if (!ci) return {};
  const out: Record<string, string> = {};
  for (const [key, name] of Object.entries(ATTRIBUTE_NAMES) as [keyof CiContext, string][]) {
    const value = ci[key];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
