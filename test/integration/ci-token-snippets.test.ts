// docs/CI-TOKENS.md's snippets, run as written: the GitHub Actions step's script (its token fetched
// from a stand-in for the runner's token endpoint, `ACTIONS_ID_TOKEN_REQUEST_URL`) and the GitLab
// job's script (its `id_tokens` variable set) run with bash against a real sidecar in front of the
// test PostgreSQL and MariaDB; the policy is the document's, only its issuers' addresses replaced
// by test issuers signing tokens with the claims GitHub and GitLab put in theirs. What each job's
// variables name (host, database) is pointed at the sidecar's listeners, as capture would in a pod.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import { startHarness, basePolicy, mysqlTarget, run, type Harness } from '../support/sidegate-harness.js';
import { startTestIssuer, type TestIssuer } from '../support/token-issuer.js';

const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
const GITLAB_ISSUER = 'https://gitlab.example.com';

/** The fenced block after `<!-- snippet: name -->` in the document. */
function snippet(doc: string, name: string): string {
  const found = new RegExp(`<!-- snippet: ${name} -->\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\\n\`\`\``).exec(doc);
  if (!found) throw new Error(`docs/CI-TOKENS.md has no snippet ${name}`);
  return found[1]!;
}

interface GithubStep {
  env: Record<string, string>;
  run: string;
}
interface GitlabJob {
  variables: Record<string, string>;
  id_tokens: Record<string, { aud: string }>;
  script: string[];
}

let h: Harness;
let github: TestIssuer;
let gitlab: TestIssuer;
let step: GithubStep;
let job: GitlabJob;
let tokenEndpoint: Server;
let endpointUrl: string;
const requestToken = randomBytes(16).toString('hex');
/** The claims the stand-in endpoint signs into the next GitHub token. */
let githubClaims: Record<string, unknown> = {};

function githubRun(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sub: 'repo:acme/shop:environment:production',
    repository: 'acme/shop',
    repository_owner: 'acme',
    ref: 'refs/heads/main',
    sha: '4f2c9e1a',
    workflow: 'migrate',
    workflow_ref: 'acme/shop/.github/workflows/migrate.yml@refs/heads/main',
    job_workflow_ref: 'acme/shop/.github/workflows/migrate.yml@refs/heads/main',
    run_id: '88120',
    run_attempt: '1',
    actor: 'octocat',
    environment: 'production',
    event_name: 'push',
    ...overrides,
  };
}

function gitlabRun(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sub: 'project_path:acme/api:ref_type:branch:ref:main',
    project_path: 'acme/api',
    namespace_path: 'acme',
    ref: 'main',
    ref_type: 'branch',
    ref_protected: 'true',
    pipeline_id: '5150',
    pipeline_source: 'push',
    job_id: '777',
    user_login: 'dev1',
    environment: 'production',
    ...overrides,
  };
}

before(async () => {
  const doc = await readFile(new URL('../../../docs/CI-TOKENS.md', import.meta.url), 'utf8');
  const workflow = parse(snippet(doc, 'github-workflow')) as { jobs: Record<string, { steps: GithubStep[] }> };
  step = Object.values(workflow.jobs)[0]!.steps[0]!;
  job = Object.values(parse(snippet(doc, 'gitlab-job')) as Record<string, GitlabJob>)[0]!;
  const docPolicy = parse(snippet(doc, 'policy')) as { identities: { issuer: string; jwksUrl?: string }[]; rules: unknown[] };

  github = await startTestIssuer({ issuer: 'https://github.test.sidegate' });
  gitlab = await startTestIssuer({ issuer: 'https://gitlab.test.sidegate' });
  for (const identity of docPolicy.identities) {
    const issuer = identity.issuer === GITHUB_ISSUER ? github : identity.issuer === GITLAB_ISSUER ? gitlab : undefined;
    if (!issuer) throw new Error(`the document's policy names an issuer the test does not stand in for: ${identity.issuer}`);
    identity.issuer = issuer.issuer;
    identity.jwksUrl = issuer.jwksUrl;
  }

  // What the runner's token endpoint does: a token for the asked audience, to the job's bearer.
  tokenEndpoint = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://runner');
    if (req.headers.authorization !== `bearer ${requestToken}` || url.searchParams.get('api-version') !== '2.0') {
      res.writeHead(401).end();
      return;
    }
    const audience = url.searchParams.get('audience') ?? 'https://github.com/acme';
    void github.sign(githubClaims, { audience }).then((value) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ count: 1, value })));
  });
  await new Promise<void>((resolve) => tokenEndpoint.listen(0, '127.0.0.1', resolve));
  endpointUrl = `http://127.0.0.1:${(tokenEndpoint.address() as { port: number }).port}/token?api-version=2.0`;

  h = await startHarness({
    policy: (env) => {
      const policy = parse(basePolicy(env).replace('targets:\n', `targets:\n${mysqlTarget(env.maria)}`)) as Record<string, unknown>;
      return stringify({ ...policy, identities: docPolicy.identities, rules: docPolicy.rules });
    },
  });
});

after(async () => {
  await h?.close();
  await new Promise((resolve) => tokenEndpoint?.close(resolve));
  await github?.close();
  await gitlab?.close();
});

/** GitHub's `shell: bash` for a step's `run` (and a fair stand-in for GitLab's shell executor). */
const RUNNER_SHELL = ['--noprofile', '--norc', '-eo', 'pipefail', '-c'];

/** The GitHub step's script as the runner runs it, its PG variables pointed at the sidecar. */
function runGithubStep(claims: Record<string, unknown>) {
  githubClaims = claims;
  return run('bash', [...RUNNER_SHELL, step.run], {
    ...step.env,
    PGHOST: '127.0.0.1',
    PGPORT: String(h.port),
    PGDATABASE: h.pg.database,
    PGCONNECT_TIMEOUT: '10',
    ACTIONS_ID_TOKEN_REQUEST_URL: endpointUrl,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken,
  });
}

/** The GitLab job's script lines in one shell, with its variables and its id_tokens variable. */
async function runGitlabJob(claims: Record<string, unknown>) {
  const [variable, { aud }] = Object.entries(job.id_tokens)[0]!;
  return run('bash', [...RUNNER_SHELL, job.script.join('\n')], {
    ...job.variables,
    DB_HOST: '127.0.0.1',
    DB_NAME: h.maria.database,
    MYSQL_TCP_PORT: String(h.myPort),
    [variable]: await gitlab.sign(claims, { audience: aud }),
  });
}

async function sessionWith(attr: string, value: string) {
  await h.sidecar.audit.flush();
  const session = await h.receiver.waitForSpans((spans) => spans.find((s) => !s.parentSpanId && s.attributes[attr] === value));
  // The statement spans end before their session's: once the session span is here, so are they.
  const commands = h.receiver.spans().filter((s) => s.parentSpanId === session.spanId);
  return { session, commands };
}

test('the GitHub Actions step counts orders with its OIDC token; the run is on the session and the statement span', async () => {
  const result = await runGithubStep(githubRun());
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout.trim(), /^\d+$/);
  const { session, commands } = await sessionWith('sidegate.ci.run_id', '88120');
  assert.equal(commands.length, 1);
  for (const span of [session, commands[0]!]) {
    assert.equal(span.attributes['sidegate.ci.system'], 'github');
    assert.equal(span.attributes['sidegate.ci.repository'], 'acme/shop');
    assert.equal(span.attributes['sidegate.ci.ref'], 'refs/heads/main');
    assert.equal(span.attributes['sidegate.ci.workflow'], 'acme/shop/.github/workflows/migrate.yml@refs/heads/main');
    assert.equal(span.attributes['sidegate.ci.job'], 'acme/shop/.github/workflows/migrate.yml@refs/heads/main');
    assert.equal(span.attributes['sidegate.ci.actor'], 'octocat');
    assert.equal(span.attributes['sidegate.ci.environment'], 'production');
    assert.equal(span.attributes['sidegate.ci.commit'], '4f2c9e1a');
  }
  assert.deepEqual(session.attributes['sidegate.identity.names'], ['shop-deploys']);
  assert.equal(commands[0]!.attributes['sidegate.decision'], 'allow');
  assert.equal(commands[0]!.attributes['sidegate.rule'], 'ci-reads');
});

test("another repository's token, or the right repository on another ref, matches no identity: the statement is denied", async () => {
  for (const [runId, claims] of [
    ['88121', githubRun({ repository: 'acme/other', run_id: '88121' })],
    ['88122', githubRun({ ref: 'refs/heads/feature', run_id: '88122' })],
  ] as const) {
    const result = await runGithubStep(claims);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /sidegate: denied by rule "default": no rule allows SELECT for this identity/);
    const { session, commands } = await sessionWith('sidegate.ci.run_id', runId);
    assert.deepEqual(session.attributes['sidegate.identity.names'] ?? [], []);
    assert.equal(commands[0]!.attributes['sidegate.decision'], 'deny');
  }
});

test('a token for another audience is refused at login, before anything reaches the database', async () => {
  githubClaims = githubRun({ run_id: '88123' });
  const wrongAudience = step.run.replace('audience=sidegate', 'audience=something-else');
  assert.notEqual(wrongAudience, step.run, 'the snippet asks for the sidegate audience');
  const result = await run('bash', [...RUNNER_SHELL, wrongAudience], {
    ...step.env, PGHOST: '127.0.0.1', PGPORT: String(h.port), PGDATABASE: h.pg.database, PGCONNECT_TIMEOUT: '10',
    ACTIONS_ID_TOKEN_REQUEST_URL: endpointUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken,
  });
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /audience|aud/i);
});

test('the GitLab job counts customers with its id_token over mysql_clear_password; the pipeline is on every span', async () => {
  const result = await runGitlabJob(gitlabRun());
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout.trim(), /^\d+$/);
  const { session, commands } = await sessionWith('sidegate.ci.pipeline', '5150');
  assert.ok(commands.length >= 1);
  for (const span of [session, ...commands]) {
    assert.equal(span.attributes['sidegate.ci.system'], 'gitlab');
    assert.equal(span.attributes['sidegate.ci.repository'], 'acme/api');
    assert.equal(span.attributes['sidegate.ci.job'], '777');
    assert.equal(span.attributes['sidegate.ci.actor'], 'dev1');
    assert.equal(span.attributes['sidegate.ci.ref_protected'], 'true');
  }
  assert.deepEqual(session.attributes['sidegate.identity.names'], ['api-pipelines']);
  assert.ok(commands.some((s) => s.attributes['db.query.text'] === 'SELECT COUNT(*) FROM customers' && s.attributes['sidegate.decision'] === 'allow'));
});

test('a GitLab pipeline on an unprotected ref matches no identity: ERR 1142 and the job fails', async () => {
  const result = await runGitlabJob(gitlabRun({ ref: 'feature', ref_protected: 'false', pipeline_id: '5151' }));
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /ERROR 1142/);
  const { commands } = await sessionWith('sidegate.ci.pipeline', '5151');
  assert.ok(commands.some((s) => s.attributes['sidegate.decision'] === 'deny'));
});
