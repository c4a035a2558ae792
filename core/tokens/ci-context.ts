// The CI run behind a verified token, read from its claims: what an approver is shown and what
// the broker's and the token exchange's evidence record (repository, workflow or pipeline, job,
// run URL, commit, actor), and who may never approve a request (the actor). One definition for
// every part, so their spans name the same run with the same fields. Only claims the CI system's
// signed token carries are used; nothing a client sends besides its token reaches this.

/** CI claims of a verified token (GitHub / GitLab OIDC, Kubernetes); every field optional. */
export interface CiContext {
  system?: 'github' | 'gitlab' | 'kubernetes' | (string & {});
  repository?: string;
  ref?: string;
  workflow?: string;
  pipeline?: string;
  job?: string;
  runId?: string;
  runUrl?: string;
  commit?: string;
  /** The human who triggered the run (GitHub `actor`, GitLab `user_login`): never an approver of it. */
  actor?: string;
  environment?: string;
}

type Claims = Readonly<Record<string, unknown>>;

const GITHUB_COM_ISSUER = 'https://token.actions.githubusercontent.com';
/** GitHub Enterprise Server issues its Actions tokens at https://HOST/_services/token. */
const GHES_ISSUER = /^(https:\/\/[^/]+)\/_services\/token$/;

/** A claim as text: strings as they are, numbers written out; anything else is not a CI field. */
function text(claims: Claims, name: string): string | undefined {
  const value = claims[name];
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** Fields that are present, in order; absent ones are left out rather than set to undefined. */
function defined(fields: CiContext): CiContext {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as CiContext;
}

function githubContext(issuer: string, claims: Claims): CiContext {
  const repository = text(claims, 'repository');
  const runId = text(claims, 'run_id');
  const attempt = text(claims, 'run_attempt');
  const server = issuer === GITHUB_COM_ISSUER ? 'https://github.com' : GHES_ISSUER.exec(issuer)?.[1];
  const runUrl = server && repository && runId ? `${server}/${repository}/actions/runs/${runId}${attempt && attempt !== '1' ? `/attempts/${attempt}` : ''}` : undefined;
  return defined({
    system: 'github',
    repository,
    ref: text(claims, 'ref'),
    workflow: text(claims, 'workflow_ref') ?? text(claims, 'workflow'),
    job: text(claims, 'job_workflow_ref'),
    runId,
    runUrl,
    commit: text(claims, 'sha'),
    actor: text(claims, 'actor'),
    environment: text(claims, 'environment'),
  });
}

function gitlabContext(issuer: string, claims: Claims): CiContext {
  const project = text(claims, 'project_path');
  const job = text(claims, 'job_id');
  // A GitLab ID token's issuer is the instance's own URL.
  const origin = /^https:\/\/[^/]+$/.test(issuer) ? issuer : undefined;
  return defined({
    system: 'gitlab',
    repository: project,
    ref: text(claims, 'ref'),
    pipeline: text(claims, 'pipeline_id'),
    job,
    runId: text(claims, 'pipeline_id'),
    runUrl: origin && project && job ? `${origin}/${project}/-/jobs/${job}` : undefined,
    commit: text(claims, 'sha'),
    actor: text(claims, 'user_login'),
    environment: text(claims, 'environment'),
  });
}

function kubernetesContext(claims: Claims): CiContext | undefined {
  const k8s = claims['kubernetes.io'];
  if (typeof k8s !== 'object' || k8s === null) return undefined;
  const namespace = text(k8s as Claims, 'namespace');
  const pod = (k8s as Record<string, unknown>)['pod'];
  const podName = typeof pod === 'object' && pod !== null ? text(pod as Claims, 'name') : undefined;
  return defined({ system: 'kubernetes', job: namespace && podName ? `${namespace}/${podName}` : undefined });
}

/** The CI context of a verified token, by the shape of its claims; undefined when it is no CI token. */
export function ciContextOf(issuer: string, claims: Claims): CiContext | undefined {
  if (text(claims, 'repository') !== undefined && text(claims, 'run_id') !== undefined) return githubContext(issuer, claims);
  if (text(claims, 'project_path') !== undefined && text(claims, 'pipeline_id') !== undefined) return gitlabContext(issuer, claims);
  return kubernetesContext(claims);
}
