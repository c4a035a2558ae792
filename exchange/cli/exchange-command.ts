// `sidegate exchange --config FILE --tls-cert FILE --tls-key FILE`: the control plane's token
// exchange (RFC 8693), which turns a pod's or a CI job's token into a short-lived credential on a
// target. Configuration problems stop startup with exit code 2: an exchange that started with a
// misread configuration would trust the wrong issuer or grant the wrong role.
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { createAuditTrail, reportUndelivered, SERVICE_AUDIT_DRAIN_MS, type AuditTrail } from '../../core/audit/index.js';
import { createLogger, type Logger } from '../../core/logging/logger.js';
import { logAuditHealth } from '../../core/logging/audit-health-log.js';
import { readHttpsServiceArgs } from '../../core/command-line/https-service-command.js';
import { logOptionsUsage } from '../../core/command-line/log-options.js';
import { stopOnSignals } from '../../core/command-line/stop-on-signals.js';
import { loadExchangeConfigFile, type ExchangeConfig, type TargetConfig } from '../config/exchange-config.js';
import { AuditedOutcomes } from '../evidence/audited-outcomes.js';
import { SubjectTokens } from '../identity/subject-tokens.js';
import { MysqlCredentialIssuer, type MysqlIssuerTimeouts } from '../mysql/mysql-credential-issuer.js';
import { PostgresCredentialIssuer, type PostgresIssuerTimeouts } from '../postgres/postgres-credential-issuer.js';
import type { CredentialIssuer } from '../service/credential-issuer.js';
import { startExpirySweeper, type ExpirySweeper } from '../service/expiry-sweeper.js';
import type { ExchangeOutcome, RevocationOutcome } from '../service/exchange-outcome.js';
import { TokenExchange } from '../service/token-exchange.js';
import { ExchangeMetrics } from '../service/exchange-metrics.js';
import { startExchangeServer } from '../server/exchange-server.js';
import type { TokenVerifierOptions } from '../../core/tokens/index.js';

export interface ExchangeCommandIo {
  stdout: Writable;
  stderr: Writable;
  env?: NodeJS.ProcessEnv;
  log?: Logger;
}

export const EXCHANGE_USAGE = `usage: sidegate exchange --config FILE --tls-cert FILE --tls-key FILE [--host ADDR] [--port PORT]
                         [--log-level LEVEL] [--log-format FORMAT]

The token exchange (RFC 8693): POST /v1/token turns a pod's ServiceAccount token or a CI OIDC
token into a short-lived credential on a target, as the configuration's grants allow; POST
/v1/revoke drops it early. Expired credentials are swept. Each exchange, revocation and swept
credential is an audit span (OTLP via OTEL_EXPORTER_OTLP_*, or a file under audit.stateDir).
HTTPS only. Configuration problems exit 2; SIGTERM or SIGINT stops it.

options:
  --config FILE                    exchange configuration (YAML; docs/TOKEN-EXCHANGE.md)
  --tls-cert FILE --tls-key FILE   the serving certificate (required)
  --host ADDR --port PORT          where to listen (default 0.0.0.0:8443)
${logOptionsUsage(35)}  -h, --help                       this text
`;

const EXCHANGE_SPEC = { name: 'sidegate exchange', usage: EXCHANGE_USAGE } as const;

export interface ExchangeService {
  url: string;
  exchange: TokenExchange;
  sweeper: ExpirySweeper;
  close(): Promise<void>;
}

export interface ExchangeServiceOptions {
  host: string;
  port: number;
  /** Without it plain HTTP: tests only; the command always passes one. */
  tls?: { cert: Buffer | string; key: Buffer | string };
  verifier?: TokenVerifierOptions;
  postgresTimeouts?: Partial<PostgresIssuerTimeouts>;
  mysqlTimeouts?: Partial<MysqlIssuerTimeouts>;
  now?: () => number;
  onOutcome?: (outcome: ExchangeOutcome | RevocationOutcome) => void;
  /**
   * The trail to record outcomes in (local mode brings the sidecar's; tests bring one to break);
   * without it, one of the exchange's own under the configuration's `audit.stateDir`, closed with
   * the service.
   */
  audit?: AuditTrail;
  /** Source of OTEL_EXPORTER_OTLP_* for the exchange's own trail (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * The exchange's own trail: OTLP (standard OTEL_* variables) through a durable spool, or a local
 * file without an endpoint; each replica its own chain, named by its host (the pod).
 */
function exchangeAuditTrail(config: ExchangeConfig, env: NodeJS.ProcessEnv, log: Logger): Promise<AuditTrail> {
  const stateDir = config.audit?.stateDir;
  if (stateDir === undefined) throw new Error('audit.stateDir is required: the exchange does not start without evidence of what it issues');
  return createAuditTrail({
    serviceName: 'sidegate-exchange',
    env,
    spoolDir: join(stateDir, 'spool'),
    filePath: join(stateDir, 'audit.otlp.jsonl'),
    resourceAttributes: { 'service.instance.id': hostname() },
    log,
  });
}

/** The credential issuer of a target's protocol. */
function openIssuer(target: TargetConfig, opts: ExchangeServiceOptions, log: Logger): Promise<CredentialIssuer> {
  return target.protocol === 'mysql' ? MysqlCredentialIssuer.open(target, log, opts.mysqlTimeouts) : PostgresCredentialIssuer.open(target, log, opts.postgresTimeouts);
}

/** Starts the exchange a configuration describes (also what tests run in-process). */
export async function startExchangeService(config: ExchangeConfig, opts: ExchangeServiceOptions, log: Logger): Promise<ExchangeService> {
  const subjects = new SubjectTokens(config.issuers, opts.verifier);
  const issuers: CredentialIssuer[] = [];
  const ownTrail = opts.audit === undefined ? await exchangeAuditTrail(config, opts.env ?? process.env, log) : undefined;
  const evidence = new AuditedOutcomes((opts.audit ?? ownTrail)!, log);
  // A trail brought in is watched by whoever brought it (local mode's sidecar).
  const auditHealth = ownTrail ? logAuditHealth(ownTrail, log) : undefined;
  const metrics = new ExchangeMetrics(opts.audit ?? ownTrail);
  try {
    for (const target of config.targets) issuers.push(await openIssuer(target, opts, log));
    const measured = issuers.map((i) => metrics.measured(i));
    const exchange = new TokenExchange({
      subjects,
      grants: config.grants,
      issuers: new Map(measured.map((i) => [i.target, i])),
      log,
      evidence,
      ...(opts.now ? { now: opts.now } : {}),
      onOutcome: (outcome) => {
        metrics.outcome(outcome);
        opts.onOutcome?.(outcome);
      },
    });
    const server = await startExchangeServer({ exchange, host: opts.host, port: opts.port, maxConcurrent: config.maxConcurrent, metrics: metrics.registry, ...(opts.tls ? { tls: opts.tls } : {}) });
    const sweeper = startExpirySweeper(measured, config.sweepInterval, log, opts.now, (target, dropped) => evidence.expired(target, dropped));
    return {
      url: server.url,
      exchange,
      sweeper,
      close: async () => {
        await server.close();
        await sweeper.stop();
        await Promise.all(issuers.map((i) => i.close()));
        auditHealth?.stop();
        // Within the stop's bound, then say what the spool still holds (it may not outlive the pod).
        if (ownTrail) reportUndelivered(log, await ownTrail.drain(SERVICE_AUDIT_DRAIN_MS), ownTrail.destination);
      },
    };
  } catch (err) {
    await Promise.all(issuers.map((i) => i.close().catch(() => undefined)));
    auditHealth?.stop();
    await ownTrail?.shutdown().catch(() => undefined);
    throw err;
  }
}

export async function startExchangeFromArgs(argv: string[], io: ExchangeCommandIo): Promise<ExchangeService | number> {
  const args = await readHttpsServiceArgs(argv, EXCHANGE_SPEC, 'subject tokens and credentials travel over HTTPS only', io);
  if (typeof args === 'number') return args;
  const log = io.log ?? createLogger(args.log);
  try {
    const config = await loadExchangeConfigFile(args.configPath);
    const service = await startExchangeService(config, { host: args.host, port: args.port, tls: args.tls, env: io.env ?? process.env }, log);
    io.stdout.write(`sidegate exchange: listening on ${service.url} (${config.issuers.length} issuer(s), ${config.targets.length} target(s), ${config.grants.length} grant(s))\n`);
    return service;
  } catch (err) {
    io.stderr.write(`sidegate exchange: ${(err as Error).message}\n`);
    return 2;
  }
}

/** The CLI entry: runs until SIGTERM/SIGINT. Returns -1 while running. */
export async function runExchangeCommand(argv: string[], io: ExchangeCommandIo): Promise<number> {
  const started = await startExchangeFromArgs(argv, io);
  if (typeof started === 'number') return started;
  stopOnSignals({ name: 'sidegate exchange', boundMs: 10_000, stderr: io.stderr, stopping: 'finishing requests, flushing the audit trail', stop: () => started.close() });
  return -1;
}
