// The Resource of an injected sidecar's spans: which pod, namespace, node and CI job they come
// from. The webhook gives the sidecar its pod's name, namespace, UID and node name as downward-API
// environment variables and its labels and annotations as downward-API files (podinfo); this reads
// them into OpenTelemetry semantic-convention attributes. Pure apart from `readPodinfo`'s two
// bounded file reads. A process outside a pod (local mode) gets only service.instance.id.
import { randomUUID } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { ATTR_SERVICE_INSTANCE_ID } from '@opentelemetry/semantic-conventions';
import {
  ATTR_CICD_PIPELINE_NAME,
  ATTR_CICD_PIPELINE_RUN_ID,
  ATTR_CICD_PIPELINE_TASK_NAME,
  ATTR_CICD_PIPELINE_TASK_RUN_ID,
  ATTR_CICD_PIPELINE_TASK_RUN_URL_FULL,
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_NODE_NAME,
  ATTR_K8S_POD_NAME,
  ATTR_K8S_POD_UID,
  ATTR_VCS_OWNER_NAME,
  ATTR_VCS_REF_HEAD_NAME,
  ATTR_VCS_REF_HEAD_REVISION,
  ATTR_VCS_REPOSITORY_NAME,
} from '@opentelemetry/semantic-conventions/incubating';

/** The CI system a pod's labels name, beside the cicd.* attributes (same key as the broker's). */
export const CI_SYSTEM_ATTRIBUTE = 'sidegate.ci.system';

/** The downward API's files are small; anything larger is not what the webhook mounted. */
const MAX_PODINFO_BYTES = 256 * 1024;
const MAX_VALUE_CHARS = 1024;

export interface PodFacts {
  env: Readonly<Record<string, string | undefined>>;
  /** Pod labels and annotations (podinfo), merged: the CI systems put job facts in either. */
  metadata?: Readonly<Record<string, string>>;
}

/** The sidecar's Resource attributes. service.instance.id is the pod UID, or a fresh UUID. */
export function podResourceAttributes({ env, metadata = {} }: PodFacts, newId: () => string = randomUUID): Record<string, string> {
  const out: Record<string, string> = {};
  const set = (key: string, value: string | undefined) => {
    const v = value?.trim();
    if (v) out[key] = v.slice(0, MAX_VALUE_CHARS);
  };
  set(ATTR_K8S_POD_NAME, env['SIDEGATE_POD_NAME']);
  set(ATTR_K8S_NAMESPACE_NAME, env['SIDEGATE_POD_NAMESPACE']);
  set(ATTR_K8S_POD_UID, env['SIDEGATE_POD_UID']);
  set(ATTR_K8S_NODE_NAME, env['SIDEGATE_NODE_NAME']);
  set(ATTR_SERVICE_INSTANCE_ID, env['SIDEGATE_POD_UID']?.trim() || newId());
  for (const [key, value] of Object.entries(ciJobAttributes(metadata))) set(key, value);
  return out;
}

/** The CI job a pod's labels and annotations identify (GitLab runner, Tekton, GitHub ARC). */
export function ciJobAttributes(m: Readonly<Record<string, string>>): Record<string, string> {
  if (m['job.runner.gitlab.com/id'] !== undefined || m['job.runner.gitlab.com/pod'] !== undefined) {
    return defined({
      [CI_SYSTEM_ATTRIBUTE]: 'gitlab',
      [ATTR_CICD_PIPELINE_TASK_RUN_ID]: m['job.runner.gitlab.com/id'],
      [ATTR_CICD_PIPELINE_TASK_NAME]: m['job.runner.gitlab.com/name'],
      [ATTR_CICD_PIPELINE_TASK_RUN_URL_FULL]: m['job.runner.gitlab.com/url'],
      [ATTR_VCS_REF_HEAD_NAME]: m['job.runner.gitlab.com/ref'],
      [ATTR_VCS_REF_HEAD_REVISION]: m['job.runner.gitlab.com/sha'],
    });
  }
  if (m['tekton.dev/taskRun'] !== undefined || m['tekton.dev/pipelineRun'] !== undefined) {
    return defined({
      [CI_SYSTEM_ATTRIBUTE]: 'tekton',
      [ATTR_CICD_PIPELINE_NAME]: m['tekton.dev/pipeline'],
      [ATTR_CICD_PIPELINE_RUN_ID]: m['tekton.dev/pipelineRun'],
      [ATTR_CICD_PIPELINE_TASK_NAME]: m['tekton.dev/pipelineTask'] ?? m['tekton.dev/task'],
      [ATTR_CICD_PIPELINE_TASK_RUN_ID]: m['tekton.dev/taskRun'],
    });
  }
  // Actions Runner Controller: a runner pod knows its repository, not yet the job it will run.
  if (m['actions.github.com/scale-set-name'] !== undefined) {
    return defined({
      [CI_SYSTEM_ATTRIBUTE]: 'github',
      [ATTR_VCS_OWNER_NAME]: m['actions.github.com/organization'],
      [ATTR_VCS_REPOSITORY_NAME]: m['actions.github.com/repository'],
    });
  }
  return {};
}

function defined(record: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
}

/**
 * A downward-API labels or annotations file: one `key="value"` a line, the value quoted as Go's
 * %q quotes it. Lines that do not read as such are skipped (a value with a byte Go escapes as \x).
 */
export function parsePodinfoFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const raw = line.slice(eq + 1);
    if (!raw.startsWith('"')) continue;
    try {
      const value: unknown = JSON.parse(raw);
      if (typeof value === 'string') out[line.slice(0, eq)] = value;
    } catch {
      /* not JSON-compatible quoting: not a fact we can read exactly, so none */
    }
  }
  return out;
}

/** Labels, then annotations over them, from the podinfo directory; nothing when it is absent. */
export async function readPodinfo(dir: string | undefined): Promise<Record<string, string>> {
  if (!dir) return {};
  const read = async (name: string) => {
    try {
      const handle = await open(join(dir, name), 'r');
      try {
        const buffer = Buffer.alloc(MAX_PODINFO_BYTES);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
        return parsePodinfoFile(buffer.toString('utf8', 0, bytesRead));
      } finally {
        await handle.close();
      }
    } catch {
      return {};
    }
  };
  return { ...(await read('labels')), ...(await read('annotations')) };
}
