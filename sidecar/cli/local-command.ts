// `sidegate local`: the main job on a laptop. Example policy (or the operator's), local token
// issuer, embedded demo database for the targets that point at it, in-process approval broker,
// spans to a local file (or to OTEL_EXPORTER_OTLP_ENDPOINT when set). Prints how to connect and
// what to try. A failed start closes whatever it opened (the demo database included) and exits 1.
import { access, writeFile, chmod } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import { startSidecar } from '../runtime/sidecar-runtime.js';
import { startEmbeddedExchange, type EmbeddedExchange } from '../runtime/embedded-exchange.js';
import { Closers } from '../runtime/closers.js';
import { listenFailure } from '../runtime/listen-failure.js';
import { ensureLocalIssuer, LOCAL_ISSUER, localIssuerFiles, mintLocalToken } from '../local/local-issuer.js';
import type { EmbeddedTarget } from '../local/embedded-demo-target.js';
import { loadEmbeddedDemoTarget } from '../local/load-embedded-demo-target.js';
import { DEMO_TARGET_ADDRESS, DEMO_TEMPLATE_ROLE, LOCAL_IDENTITY_NAME, loadLocalPolicy, parseUpstream, type UpstreamOverride } from '../local/local-policy.js';
import { parseCommandLine, usageError } from '../../core/command-line/command-line.js';
import { createLogger } from '../../core/logging/logger.js';
import { LOG_OPTIONS, logOptionsUsage, readLogSettings } from '../../core/command-line/log-options.js';
import { stopOnSignals } from '../../core/command-line/stop-on-signals.js';

const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const LOCAL_USAGE = `usage: sidegate local [--policy FILE] [--credentials FILE] [--upstream [TARGET=]HOST:PORT]...
                      [--state-dir DIR] [--admin-port PORT] [--log-level LEVEL] [--log-format FORMAT]

Runs the gateway on this machine with an in-process approval broker and the audit trail in
DIR/audit.otlp.jsonl (or OTEL_EXPORTER_OTLP_ENDPOINT). Clients present a token of local mode's
own issuer as their password (DIR/token, or \`sidegate token\`). SIGTERM or Ctrl-C stops it
gracefully; a second Ctrl-C exits at once.

options:
  --policy FILE       the policy (default: policies/examples/local-demo.yaml). Local mode always
                      trusts its issuer https://sidegate.local with its own keys; a policy that
                      declares no identity of that issuer gets one named "${LOCAL_IDENTITY_NAME}"
                      for its rules to name.
  --credentials FILE  static logins of targets with credentials: { file: KEY }, readable by you
                      only (chmod 600); default: DIR/credentials.yaml, generated with an entry
                      "demo" when the policy has such targets
  --upstream [TARGET=]HOST:PORT
                      where a target really is: replaces the policy's address of TARGET (of the
                      only target when TARGET is left out); repeat for several targets
  --state-dir DIR     issuer keys, token, broker state, audit trail (default .sidegate)
  --admin-port PORT   /healthz, /readyz, /metrics on 127.0.0.1 (default 16002; 0: any free port)
${logOptionsUsage(22, 'pretty')}  -h, --help          this text

Targets whose address is ${DEMO_TARGET_ADDRESS} (the example's "demo") and that no --upstream names
are served by an embedded demo PostgreSQL started on that address; otherwise none is started.
Those with credentials: { exchange: {} } (the example's) get their login from an embedded token
exchange, as a pod's sidecar does from \`sidegate exchange\`; it serves the demo database only.
`;

/** The audience and subject local mode's sidecar presents to its embedded exchange. */
const EXCHANGE_AUDIENCE = 'sidegate-exchange';
const EXCHANGE_SUBJECT = 'local-sidecar';

export async function runLocal(args: string[], io: { stdout: Writable; stderr: Writable; env?: NodeJS.ProcessEnv }): Promise<number> {
  const spec = {
    name: 'sidegate local',
    usage: LOCAL_USAGE,
    options: {
      policy: { type: 'string' },
      credentials: { type: 'string' },
      'state-dir': { type: 'string', default: '.sidegate' },
      upstream: { type: 'string', multiple: true },
      'admin-port': { type: 'string', default: '16002' },
      ...LOG_OPTIONS,
    },
  } as const;
  const parsed = parseCommandLine(args, spec, io);
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const adminPort = Number(values['admin-port']);
  if (!/^\d+$/.test(values['admin-port']) || adminPort > 65535) return usageError(spec, `--admin-port must be a TCP port, got "${values['admin-port']}"`, io);
  let upstreams: UpstreamOverride[];
  try {
    upstreams = (values.upstream ?? []).map(parseUpstream);
  } catch (err) {
    return usageError(spec, (err as Error).message, io);
  }

  // Local mode is read by a person at a terminal: the human format unless asked otherwise.
  const logSettings = readLogSettings(values, io.env ?? process.env, 'pretty');
  if ('problem' in logSettings) return usageError(spec, logSettings.problem, io);

  const stateDir = resolve(values['state-dir']);
  const log = createLogger(logSettings);
  const started = Date.now();
  await ensureLocalIssuer(stateDir);
  const policyFile = values.policy ?? join(PACKAGE_ROOT, 'policies/examples/local-demo.yaml');
  const { policy, demoTargets } = await loadLocalPolicy(policyFile, { stateDir, upstreams });
  // Before anything is opened: the image has no demo database and says so (load-embedded-demo-target.ts).
  const startEmbeddedDemoTarget = demoTargets.length > 0 ? await loadEmbeddedDemoTarget() : undefined;

  // The embedded exchange serves the demo database only: a moved target needs a static login.
  const exchangeTargets = policy.document.targets.filter((t) => 'exchange' in t.credentials).map((t) => t.name);
  const elsewhere = exchangeTargets.filter((t) => !demoTargets.includes(t));
  if (elsewhere.length > 0) {
    io.stderr.write(
      `sidegate local: target ${elsewhere.join(', ')} takes its login from the token exchange, which local mode runs only for the embedded demo database; ` +
        `give it credentials: { file: KEY } in your own policy (--policy) and its login in --credentials FILE\n`,
    );
    return 2;
  }
  const usesFile = policy.document.targets.some((t) => 'file' in t.credentials);
  let credentialsFile = values.credentials;
  if (!credentialsFile && usesFile) {
    // The embedded demo target accepts any password; a real one needs --credentials.
    credentialsFile = join(stateDir, 'credentials.yaml');
    if (!(await exists(credentialsFile))) {
      await writeFile(credentialsFile, `targets:\n  demo: { username: postgres, password: "${randomBytes(12).toString('hex')}" }\n`, { mode: 0o600 });
      await chmod(credentialsFile, 0o600);
    }
  }

  // Everything opened from here on is closed again if a later step fails.
  const opened = new Closers();
  let embedded: EmbeddedTarget | undefined;
  let exchange: EmbeddedExchange | undefined;
  let sidecar: Awaited<ReturnType<typeof startSidecar>>;
  try {
    if (startEmbeddedDemoTarget) {
      const [host, port] = [DEMO_TARGET_ADDRESS.split(':')[0]!, Number(DEMO_TARGET_ADDRESS.split(':')[1])];
      embedded = await startEmbeddedDemoTarget({ host, port }).catch((err: unknown) => {
        throw listenFailure('the embedded demo database', { host, port }, err);
      });
      opened.push('embedded demo database', () => embedded!.close());
    }
    if (exchangeTargets.length > 0) {
      const { host, port } = embedded!;
      exchange = await startEmbeddedExchange({
        stateDir,
        subjects: { issuer: LOCAL_ISSUER, jwksFile: localIssuerFiles(stateDir).jwksFile, audience: EXCHANGE_AUDIENCE, subject: EXCHANGE_SUBJECT },
        targets: exchangeTargets.map((name) => ({ name, host, port, database: policy.document.targets.find((t) => t.name === name)!.database ?? 'postgres', templateRole: DEMO_TEMPLATE_ROLE })),
        log,
      });
      opened.push('token exchange', () => exchange!.close());
    }
    sidecar = await startSidecar({
      policyFile,
      policy,
      ...(credentialsFile ? { credentialsFile } : {}),
      ...(exchange
        ? // The embedded exchange grants the sidecar's own subject alone: the developer's token is not exchanged.
          { exchange: { url: exchange.url, token: () => mintLocalToken(stateDir, { subject: EXCHANGE_SUBJECT, audience: EXCHANGE_AUDIENCE, expiresIn: '10m' }), delegate: false } }
        : {}),
      stateDir,
      broker: 'embedded',
      admin: { host: '127.0.0.1', port: adminPort },
      log,
    });
    opened.push('gateway', async () => void (await sidecar.stop(1000)));
  } catch (err) {
    await opened.closeAll();
    throw err;
  }
  const token = await mintLocalToken(stateDir);
  const tokenFile = join(stateDir, 'token');
  await writeFile(tokenFile, token + '\n', { mode: 0o600 });

  const l = sidecar.listeners[0];
  const out = io.stdout;
  out.write(`\nsidegate local mode is running (ready in ${Date.now() - started} ms)\n`);
  for (const b of sidecar.listeners) {
    const t = sidecar.policy.target(b.target)!;
    const demo = demoTargets.includes(b.target) ? ` (embedded PostgreSQL${exchangeTargets.includes(b.target) ? ', its login by token exchange' : ''})` : '';
    out.write(`  target "${b.target}" → ${t.host}:${t.port}${demo}, listening on ${b.host}:${b.port}\n`);
  }
  out.write(`  policy: ${policyFile}\n  audit trail: ${process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] || join(stateDir, 'audit.otlp.jsonl')}\n`);
  out.write(`  approvals broker: ${sidecar.broker?.url}   admin: ${sidecar.admin?.url}\n\n`);
  if (l) {
    out.write(`Connect with psql; your identity token (a local OIDC token) is the password:\n`);
    out.write(`  PGPASSWORD=$(cat ${tokenFile}) psql "host=${l.host} port=${l.port} dbname=postgres user=ci sslmode=disable"\n\n`);
    if (values.policy === undefined) {
      out.write(`Then try:\n`);
      out.write(`  SELECT id, customer_id, total FROM orders LIMIT 3;     -- allowed\n`);
      out.write(`  SELECT name, email, card, notes FROM customers;        -- masked columns and detected secrets\n`);
      out.write(`  DROP TABLE orders;                                     -- denied by rule\n`);
      out.write(`  UPDATE orders SET total = total + 1 WHERE id = 1;      -- held for approval; in a second terminal:\n`);
      out.write(`      npm run -s sidegate -- approvals list\n`);
      out.write(`      npm run -s sidegate -- approvals approve <ID>\n`);
      out.write(`  and the trace:  npm run -s sidegate -- audit show\n\n`);
    }
  }
  out.write(`Stop with Ctrl-C.\n`);
  stopOnSignals({
    name: 'sidegate local',
    boundMs: 10_000,
    stderr: io.stderr,
    stopping: 'finishing open sessions, flushing the audit trail',
    stop: async () => {
      // The gateway revokes its exchanged logins as it stops, so the exchange and database go after it.
      await sidecar.stop(5000);
      await exchange?.close();
      await embedded?.close();
    },
  });
  return -1;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
