// `sidegate broker --config FILE --tls-cert FILE --tls-key FILE`: the approval broker as a service
// of its own (the chart's broker Deployment or StatefulSet). Everything it trusts comes from the
// configuration file and the files it names; any problem there stops startup with exit code 2: a
// broker that started with a misread configuration would trust the wrong issuer, or nobody.
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createAuditTrail, reportUndelivered, SERVICE_AUDIT_DRAIN_MS, type AuditTrail } from '../../core/audit/index.js';
import type { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../core/logging/logger.js';
import { logAuditHealth } from '../../core/logging/audit-health-log.js';
import { readHttpsServiceArgs } from '../../core/command-line/https-service-command.js';
import { logOptionsUsage } from '../../core/command-line/log-options.js';
import { stopOnSignals } from '../../core/command-line/stop-on-signals.js';
import { readSecretFile } from '../../core/config/secret-file.js';
import { loadBrokerConfigFile, type BrokerConfig } from '../config/broker-config.js';
import { ApproverTokens } from '../identity/approver-tokens.js';
import { RequesterTokens } from '../identity/requester-tokens.js';
import { AuditedTransitions } from '../evidence/audited-transitions.js';
import { createApprovalNotifier, loadNotificationTargets, parseNotificationsConfig } from '../notifications/index.js';
import type { ApprovalDatabase } from '../store/open-approval-store.js';
import { openBrokerStores } from '../store/open-broker-stores.js';
import { startApprovalBroker, type ApprovalBroker } from '../server/broker-server.js';
import { BrokerMetrics } from '../server/broker-metrics.js';
import { createOidcLogin } from '../web/oidc-login.js';

export interface BrokerCommandIo {
  stdout: Writable;
  stderr: Writable;
  env?: NodeJS.ProcessEnv;
  log?: Logger;
}

export const BROKER_USAGE = `usage: sidegate broker --config FILE --tls-cert FILE --tls-key FILE [--host ADDR] [--port PORT]
                       [--log-level LEVEL] [--log-format FORMAT]

The approval broker: holds the statements sidecars ask approval for until approvers decide, on
its web page or with \`sidegate approvals\`. HTTPS only. Configuration problems exit 2; SIGTERM or
SIGINT stops it (open long-polls are answered first).

options:
  --config FILE                    broker configuration (YAML; docs/BROKER.md)
  --tls-cert FILE --tls-key FILE   the serving certificate (required)
  --host ADDR --port PORT          where to listen (default 0.0.0.0:8443)
${logOptionsUsage(35)}  -h, --help                       this text
`;

const BROKER_SPEC = { name: 'sidegate broker', usage: BROKER_USAGE } as const;

/** Secrets are short: a token, a password, a connection string, a few session keys. */
const MAX_SECRET_FILE_BYTES = 16 * 1024;

function secretFile(path: string, what: string): Promise<string> {
  return readSecretFile(path, MAX_SECRET_FILE_BYTES, (message) => new Error(`${what} file ${message}`));
}

/** Session secrets: one per line (the first seals, all open), each at least 32 bytes. */
/** An issuer's claim prefixes, only those configured. */
function prefixesOf(i: { usernamePrefix?: string | undefined; groupsPrefix?: string | undefined }): { usernamePrefix?: string; groupsPrefix?: string } {
  return { ...(i.usernamePrefix !== undefined ? { usernamePrefix: i.usernamePrefix } : {}), ...(i.groupsPrefix !== undefined ? { groupsPrefix: i.groupsPrefix } : {}) };
}

async function sessionSecrets(path: string): Promise<Buffer[]> {
  const lines = (await secretFile(path, 'session secret')).split('\n').map((l) => l.trim()).filter(Boolean);
  const secrets = lines.map((l) => Buffer.from(l, 'utf8'));
  if (secrets.some((s) => s.length < 32)) throw new Error(`session secret file ${path}: each secret must be at least 32 bytes`);
  return secrets;
}

async function databaseOf(store: BrokerConfig['store']): Promise<ApprovalDatabase> {
  if (store.kind === 'embedded') return { kind: 'pglite', dataDir: store.dataDir };
  return {
    kind: 'postgres',
    connection: {
      connectionString: await secretFile(store.connectionFile, 'PostgreSQL connection'),
      max: store.maxConnections,
      ...(store.caFile ? { ssl: { ca: await readFile(store.caFile, 'utf8'), rejectUnauthorized: true } } : {}),
    },
  };
}

/**
 * The trail of the broker's decisions: OTLP (standard OTEL_* variables) through a durable spool,
 * or a local file without an endpoint; each replica its own chain, named by its host (the pod).
 */
function brokerAuditTrail(config: BrokerConfig, env: NodeJS.ProcessEnv, log: Logger): Promise<AuditTrail> {
  return createAuditTrail({
    serviceName: 'sidegate-broker',
    env,
    spoolDir: join(config.audit.stateDir, 'spool'),
    filePath: join(config.audit.stateDir, 'audit.otlp.jsonl'),
    resourceAttributes: { 'service.instance.id': hostname() },
    log,
  });
}

/** Starts the broker a configuration describes (also what tests run in-process); `env` carries OTEL_*. */
export async function startBrokerService(
  config: BrokerConfig,
  listen: { host: string; port: number; tls: { cert: Buffer; key: Buffer } },
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ApprovalBroker> {
  const kube = config.requesters.kubernetes;
  const requesters = kube
    ? new RequesterTokens({
        issuer: kube.issuer,
        audience: kube.audience,
        ...(kube.discovery ? {} : { jwksUrl: kube.jwksUrl! }),
        ...(kube.caFile ? { caFile: kube.caFile } : {}),
      })
    : undefined;
  const requesterToken = config.requesters.staticTokenFile ? await secretFile(config.requesters.staticTokenFile, 'requester token') : undefined;
  const oidc = config.approvers.oidc;
  const approvers = oidc.length > 0
    ? new ApproverTokens(
        oidc.map((i) => ({
          issuer: i.issuer,
          clientIds: [i.clientId, ...(i.cliClientId ? [i.cliClientId] : [])],
          groupsClaim: i.groupsClaim,
          usernameClaim: i.usernameClaim,
          ...(i.caFile ? { caFile: i.caFile } : {}),
          ...prefixesOf(i),
        })),
      )
    : undefined;
  const page = oidc[0];
  // The page's login is made once the store is open: sign-outs are kept there for every replica.
  const pageLogin = page
    ? {
        issuer: page.issuer,
        clientId: page.clientId,
        ...(page.clientSecretFile ? { clientSecret: await secretFile(page.clientSecretFile, 'OIDC client secret') } : {}),
        publicUrl: config.publicUrl,
        scopes: ['openid', 'profile', 'email', ...page.scopes].join(' '),
        groupsClaim: page.groupsClaim,
        usernameClaim: page.usernameClaim,
        ...(page.caFile ? { caFile: page.caFile } : {}),
        ...prefixesOf(page),
        sessionSecrets: await sessionSecrets(config.session.secretFile),
      }
    : undefined;
  const notifications = parseNotificationsConfig({ ...config.notifications, publicUrl: config.publicUrl }, 'notifications');
  const database = await databaseOf(config.store);
  const targets = await loadNotificationTargets(notifications);
  // Opened last of what can fail at start, so nothing before it needs closing.
  const audit = await brokerAuditTrail(config, env, log);
  const notifier = createApprovalNotifier(targets, log);
  const auditHealth = logAuditHealth(audit, log);
  const stores = await openBrokerStores(database, {
    maxPending: config.maxPending,
    maxTimeoutMs: config.maxTimeout,
    superApprovers: config.approvers.superApprovers,
    usernamePrefixes: Object.fromEntries(oidc.map((i) => [i.issuer, i.usernamePrefix ?? ''])),
    evidence: new AuditedTransitions(audit, log),
  }).catch(async (err: unknown) => {
    auditHealth.stop();
    await notifier.close();
    await audit.shutdown();
    throw err;
  });
  const store = stores.approvals;
  try {
    const login = pageLogin ? createOidcLogin({ ...pageLogin, sessionRevocations: stores.revokedSessions }) : undefined;
    const web = login ? { publicUrl: config.publicUrl, login, authenticate: login.authenticate.bind(login) } : undefined;
    const broker = await startApprovalBroker({
      host: listen.host,
      port: listen.port,
      tls: listen.tls,
      store,
      callers: { ...(requesters ? { requesters } : {}), ...(approvers ? { approvers } : {}) },
      ...(requesterToken ? { requesterToken } : {}),
      notifier,
      superApprovers: config.approvers.superApprovers,
      ...(web ? { web } : {}),
      metrics: new BrokerMetrics({ notifier, audit }),
    });
    return {
      ...broker,
      close: async () => {
        await broker.close();
        await notifier.close();
        await stores.close();
        auditHealth.stop();
        // Within the stop's bound, then say what the spool still holds (it may not outlive the pod).
        reportUndelivered(log, await audit.drain(SERVICE_AUDIT_DRAIN_MS), audit.destination);
      },
    };
  } catch (err) {
    await stores.close().catch(() => undefined);
    auditHealth.stop();
    await notifier.close();
    await audit.shutdown();
    throw err;
  }
}

/** Parses arguments and starts the broker; exit-code problems come back as numbers. */
export async function startBrokerFromArgs(argv: string[], io: BrokerCommandIo): Promise<ApprovalBroker | number> {
  const args = await readHttpsServiceArgs(argv, BROKER_SPEC, 'approvers and sidecars reach the broker over HTTPS only', io);
  if (typeof args === 'number') return args;
  const log = io.log ?? createLogger(args.log);
  try {
    const config = await loadBrokerConfigFile(args.configPath);
    const broker = await startBrokerService(config, { host: args.host, port: args.port, tls: args.tls }, log, io.env ?? process.env);
    io.stdout.write(`sidegate broker: listening on ${broker.url} (store ${config.store.kind}, ${config.approvers.oidc.length} OIDC issuer(s), page ${config.publicUrl})\n`);
    return broker;
  } catch (err) {
    io.stderr.write(`sidegate broker: ${(err as Error).message}\n`);
    return 2;
  }
}

/** The CLI entry: runs until SIGTERM/SIGINT. Returns -1 while running, like `sidegate webhook`. */
export async function runBrokerCommand(argv: string[], io: BrokerCommandIo): Promise<number> {
  const started = await startBrokerFromArgs(argv, io);
  if (typeof started === 'number') return started;
  stopOnSignals({ name: 'sidegate broker', boundMs: 10_000, stderr: io.stderr, stopping: 'finishing requests, flushing the audit trail', stop: () => started.close() });
  return -1;
}
