// Assembles one sidecar process from its configuration: policy → identity → credentials → audit →
// approvals → gate → protocol adapters → listeners, plus the admin port. Each piece is built here
// and handed to the next through its narrow interface; nothing else wires parts together.
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { loadPolicyFile, Policy, type LoadedPolicy } from '../../policies/index.js';
import type { TargetSpec } from '../../core/vocabulary.js';
import { TokenVerifier } from '../../core/tokens/index.js';
import { TokenFile, CredentialsFile, ExchangeCredentials, TargetCredentials } from '../identity/index.js';
import { createAuditTrail, reportUndelivered, type AuditTrail, type UndeliveredReport } from '../../core/audit/index.js';
import { ApprovalClient } from '../approvals/index.js';
import { AuditedTransitions, startApprovalBroker } from '../../broker/index.js';
import { CommandGate, type ApprovalHolder } from '../pipeline/command-gate.js';
import { ClientIdentity } from '../pipeline/client-identity.js';
import { ConnectionSession } from '../pipeline/connection-session.js';
import type { AdapterServer } from '../pipeline/protocol-adapter.js';
import type { AdapterSettings, PipelineServices } from '../pipeline/pipeline-services.js';
import { UnauthenticatedSlots, DEFAULT_MAX_UNAUTHENTICATED } from '../pipeline/unauthenticated-slots.js';
import { DEFAULT_AUTH_TIMEOUT_MS } from '../pipeline/pre-auth-bounds.js';
import { ADAPTERS, adapterFor, adapterForDetection } from '../protocols/registry.js';
import { startExplicitListener, type ExplicitListener } from '../capture/explicit-listener.js';
import { startTransparentListener, type CaptureDetection } from '../capture/transparent-listener.js';
import { CapturedEgress, type EgressDecision } from '../egress/captured-egress.js';
import { TargetDirectory } from '../capture/target-directory.js';
import type { OriginalDestination } from '../capture/original-destination.js';
import { startAdminServer, type AdminServer } from '../admin/admin-server.js';
import { SidecarPrometheusMetrics } from '../admin/sidecar-prometheus-metrics.js';
import type { Logger } from '../../core/logging/logger.js';
import { SecurityEvent } from '../../core/logging/security-events.js';
import { logAuditHealth } from '../../core/logging/audit-health-log.js';
import { Closers } from './closers.js';
import { listenFailure } from './listen-failure.js';
import { loadMaskingKey } from './masking-key.js';
import { startupProblems, StartupRefused } from './startup-checks.js';
import { podResourceAttributes, readPodinfo } from './pod-resource.js';
import { ATTR_CLIENT_ADDRESS, ATTR_CLIENT_PORT, ATTR_ERROR_TYPE, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '@opentelemetry/semantic-conventions';
import { ATTR_TLS_CLIENT_SERVER_NAME } from '@opentelemetry/semantic-conventions/incubating';

export interface SidecarOptions {
  policyFile: string;
  /** The policy as already loaded from `policyFile` (local mode adjusts it); read from the file when absent. */
  policy?: LoadedPolicy;
  /** Static target logins (targets with `credentials: { file: KEY }`). */
  credentialsFile?: string;
  /**
   * The token exchange (targets with `credentials: { exchange: … }`): its URL, the pod's projected
   * token of the exchange's audience, the CA its certificate is verified with.
   */
  /** `delegate: false`: presented tokens are not exchanged, every session gets the pod's login (local mode). */
  exchange?: { url: string; tokenFile: string; caFile?: string } | { url: string; token: () => Promise<string>; ca?: Buffer; delegate?: boolean };
  /** Projected ServiceAccount token (pod mode) used when the client presents no token. */
  tokenFile?: string;
  /** Where local state lives: broker address and tokens, audit spool. */
  stateDir: string;
  /** `embedded`: run the approval broker in this process (local mode); otherwise its address. */
  broker: 'embedded' | { url: string; tokenFile: string };
  /** OTLP-JSON file for spans when no OTEL_EXPORTER_OTLP_* endpoint is set. */
  auditFile?: string;
  admin?: { host: string; port: number };
  /** Client-facing TLS (answers SSLRequest with 'S'). */
  clientTls?: { certFile: string; keyFile: string };
  /** Override a target's listener (tests, local mode port clashes). */
  listenOverrides?: Record<string, { host: string; port: number }>;
  /** `off`: statements are not parsed (benchmarks of the bare pipeline); default `on`. */
  inspection?: 'on' | 'off';
  /**
   * Pod mode: the transparent capture port (16001) the init container's rules redirect to. Each
   * connection's original destination is matched to a policy target by address.
   */
  capturePort?: number;
  /** Addresses the capture listener binds; default 0.0.0.0 and ::. */
  captureHosts?: string[];
  /** Where captured connections were going; default SO_ORIGINAL_DST. Tests without NAT substitute it. */
  captureOriginalDestination?(socket: Socket): OriginalDestination | null;
  /** How long POST /drain waits for open sessions (default 20 s). */
  drainGraceMs?: number;
  /**
   * How long a stop keeps exporting spooled spans before it reports what was not delivered and
   * exits (default 3 s; env SIDEGATE_AUDIT_DRAIN_MS). POST /drain spends at most as long again.
   * Sessions' grace plus twice this must stay below the pod's terminationGracePeriodSeconds.
   */
  auditDrainMs?: number;
  /** Undelivered audit bytes above which new commands are denied (default 256 MiB; env SIDEGATE_AUDIT_SPOOL_MAX_BYTES). */
  maxSpoolBytes?: number;
  /** Deadline from connect to an identified client (default 10 s; env SIDEGATE_AUTH_TIMEOUT_MS). */
  authTimeoutMs?: number;
  /** Largest statement message inspected (default 1 MiB; env SIDEGATE_MAX_STATEMENT_BYTES); larger → 54000. */
  maxStatementBytes?: number;
  /** Connections not yet authenticated, per process (default 64; env SIDEGATE_MAX_UNAUTHENTICATED). */
  maxUnauthenticated?: number;
  /** Skip the credentials file's mode check: tests, and a Kubernetes Secret mounted only into the sidecar. */
  allowInsecureCredentialsFile?: boolean;
  env?: NodeJS.ProcessEnv;
  log: Logger;
}

/** Where a captured connection goes: the adapter of the target it names, or egress. */
type CaptureRoute = { target: TargetSpec } | { egress: EgressDecision };

export interface RunningSidecar {
  policy: Policy;
  listeners: { target: string; host: string; port: number }[];
  admin?: AdminServer;
  broker?: { url: string; adminTokenFile: string };
  audit: AuditTrail;
  metrics: SidecarPrometheusMetrics;
  /**
   * Graceful stop: stop accepting, let sessions finish within `graceMs`, end the rest, export what
   * is spooled within the audit drain, and log (and return) what was not delivered.
   */
  stop(graceMs?: number): Promise<UndeliveredReport>;
}

/**
 * Starts every part, or none: when a step fails, what the earlier steps opened (listeners, broker,
 * audit trail, admin server) is closed before the error is thrown, so a failed start leaves no
 * half-started gateway serving connections or holding ports.
 */
export async function startSidecar(opts: SidecarOptions): Promise<RunningSidecar> {
  const opened = new Closers();
  try {
    return await assembleSidecar(opts, opened);
  } catch (err) {
    for (const failure of await opened.closeAll()) opts.log.warn('closing after a failed start', { failure });
    throw err;
  }
}

async function assembleSidecar(opts: SidecarOptions, opened: Closers): Promise<RunningSidecar> {
  const env = opts.env ?? process.env;
  const log = opts.log;
  const metrics = new SidecarPrometheusMetrics();
  let ready = false;

  await mkdir(opts.stateDir, { recursive: true, mode: 0o700 });
  let policy: Policy;
  try {
    policy = new Policy(opts.policy ?? (await loadPolicyFile(opts.policyFile)));
  } catch (err) {
    log.error('policy refused', { event: SecurityEvent.policyRefused, policy: opts.policyFile, error: (err as Error).message });
    throw err;
  }
  const credentialsFile = opts.credentialsFile ? new CredentialsFile(opts.credentialsFile, { allowInsecureMode: opts.allowInsecureCredentialsFile }) : undefined;
  // The same checks as `sidegate policy check --credentials … --runtime`, before anything is opened.
  const problems = await startupProblems(policy, { credentials: credentialsFile, env, sources: { file: credentialsFile !== undefined, exchange: opts.exchange !== undefined } });
  if (problems.length > 0) {
    log.error('policy refused', { event: SecurityEvent.policyRefused, policy: opts.policyFile, problems: problems.join('; ') });
    throw new StartupRefused(opts.policyFile, problems);
  }
  log.info('policy loaded', { event: SecurityEvent.policyLoaded, policy: opts.policyFile, targets: policy.targets().length, egress: policy.egress().defaultAction });
  const exchangeCredentials = opts.exchange ? await exchangeSource(opts.exchange, log) : undefined;
  const credentials = new TargetCredentials({ file: credentialsFile, exchange: exchangeCredentials });
  for (const adapter of ADAPTERS) await adapter.init?.();

  const verifier = new TokenVerifier(policy.issuers());
  const identity = new ClientIdentity(verifier, policy, opts.tokenFile ? new TokenFile(opts.tokenFile) : undefined);

  const auditDrainMs = opts.auditDrainMs ?? positiveIntegerEnv(env, 'SIDEGATE_AUDIT_DRAIN_MS') ?? DEFAULT_AUDIT_DRAIN_MS;
  const audit = await createAuditTrail({
    serviceName: 'sidegate',
    env,
    filePath: opts.auditFile ?? join(opts.stateDir, 'audit.otlp.jsonl'),
    spoolDir: join(opts.stateDir, 'audit-spool'),
    // Which pod, node and CI job the spans come from (the webhook's downward-API env and podinfo).
    resourceAttributes: podResourceAttributes({ env, metadata: await readPodinfo(env['SIDEGATE_PODINFO_DIR']) }),
    maxSpoolBytes: opts.maxSpoolBytes ?? positiveIntegerEnv(env, 'SIDEGATE_AUDIT_SPOOL_MAX_BYTES'),
    log,
  });
  opened.push('audit trail', () => audit.shutdown());
  const auditHealth = logAuditHealth(audit, log);
  opened.push('audit health log', async () => auditHealth.stop());
  metrics.observeAudit(audit);

  let brokerInfo: { url: string; adminTokenFile: string } | undefined;
  let stopBroker: (() => Promise<void>) | undefined;
  let approvals: ApprovalHolder;
  if (opts.broker === 'embedded') {
    const adminToken = randomBytes(24).toString('base64url');
    const requesterToken = randomBytes(24).toString('base64url');
    const brokerPort = Number(env['SIDEGATE_BROKER_PORT'] ?? 0);
    // Local mode's decisions are evidence in the sidecar's own trail, beside the statements they held.
    const evidence = new AuditedTransitions(audit, log);
    const broker = await startApprovalBroker({ host: '127.0.0.1', port: brokerPort, adminToken, requesterToken, lazy: true, evidence }).catch((err: unknown) => {
      throw listenFailure('the approval broker', { host: '127.0.0.1', port: brokerPort }, err);
    });
    opened.push('approval broker', () => broker.close());
    const adminTokenFile = join(opts.stateDir, 'broker-admin.token');
    await writeFile(adminTokenFile, adminToken, { mode: 0o600 });
    await chmod(adminTokenFile, 0o600);
    brokerInfo = { url: broker.url, adminTokenFile: resolvePath(adminTokenFile) };
    await writeFile(join(opts.stateDir, 'broker.json'), JSON.stringify(brokerInfo, null, 2), { mode: 0o600 });
    // The embedded store opens at the first hold (a few seconds for PGlite's first database):
    // this broker is in-process, so a slow first answer is that, not a broker gone away.
    approvals = new ApprovalClient({ url: broker.url, token: requesterToken, requestTimeoutMs: 60_000 });
    stopBroker = () => broker.close();
  } else {
    // Read at every call: the kubelet replaces a projected token long before it expires.
    const brokerToken = new TokenFile(opts.broker.tokenFile);
    await brokerToken.read();
    approvals = new ApprovalClient({ url: opts.broker.url, token: () => brokerToken.read() });
  }

  const gate = new CommandGate(policy, approvals, () => audit.healthy, positiveIntegerEnv(env, 'SIDEGATE_HOLD_HEARTBEAT_MS'));
  const maskingKey = await loadMaskingKey(policy, env);
  const clientTls = opts.clientTls
    ? tls.createSecureContext({ cert: await readFile(opts.clientTls.certFile), key: await readFile(opts.clientTls.keyFile) })
    : undefined;

  // One set of services for every session, and one server per protocol (built once, not per connection).
  const services: PipelineServices = {
    gate,
    identity,
    credentials,
    audit,
    masking: (principal, targetName) => policy.masking(principal, targetName),
    maskingKey,
    log,
    metrics,
  };
  const settings: AdapterSettings = {
    clientTls,
    inspection: opts.inspection,
    authTimeoutMs: opts.authTimeoutMs ?? positiveIntegerEnv(env, 'SIDEGATE_AUTH_TIMEOUT_MS') ?? DEFAULT_AUTH_TIMEOUT_MS,
    maxStatementBytes: opts.maxStatementBytes ?? positiveIntegerEnv(env, 'SIDEGATE_MAX_STATEMENT_BYTES'),
    unauthenticated: new UnauthenticatedSlots(opts.maxUnauthenticated ?? positiveIntegerEnv(env, 'SIDEGATE_MAX_UNAUTHENTICATED') ?? DEFAULT_MAX_UNAUTHENTICATED),
  };
  const servers = new Map<TargetSpec['protocol'], AdapterServer>();
  for (const adapter of ADAPTERS) servers.set(adapter.protocol, adapter.open(services, settings));
  const handle = (target: TargetSpec) => (socket: Socket) => {
    const server = servers.get(target.protocol);
    if (!server) {
      log.warn('no adapter for this protocol yet; closing', { target: target.name, protocol: target.protocol });
      socket.destroy();
      return;
    }
    const session = new ConnectionSession(services, target, target.protocol, { address: socket.remoteAddress, port: socket.remotePort });
    metrics.sessionOpened(target.protocol);
    socket.once('close', () => metrics.sessionClosed(target.protocol, session.outcome));
    server.serve(socket, target, session);
  };

  const listeners: Pick<ExplicitListener, 'stopAccepting' | 'open' | 'destroyAll'>[] = [];
  const bound: RunningSidecar['listeners'] = [];
  for (const target of policy.targets()) {
    const listen = opts.listenOverrides?.[target.name] ?? target.listen;
    if (!listen) continue;
    const l = await startExplicitListener(listen, handle(target)).catch((err: unknown) => {
      throw listenFailure(`target ${target.name}`, listen, err);
    });
    opened.push(`listener of target ${target.name}`, async () => {
      await l.stopAccepting();
      l.destroyAll();
    });
    listeners.push(l);
    bound.push({ target: target.name, host: l.address.host, port: l.address.port });
    log.info('listening', { target: target.name, host: l.address.host, port: l.address.port, upstream: `${target.host}:${target.port}` });
  }

  /** Stop accepting, wait for open sessions up to the grace period, flush the audit trail. */
  let draining: Promise<void> | undefined;
  const drain = (graceMs: number) =>
    (draining ??= (async () => {
      ready = false;
      await Promise.all(listeners.map((l) => l.stopAccepting()));
      const deadline = Date.now() + graceMs;
      while (listeners.some((l) => l.open > 0) && Date.now() < deadline) await sleep(50);
      // Deliver what is spooled while the pod still runs; the stop's drain reports what is left.
      await audit.flush(auditDrainMs).catch((err: Error) => log.warn('audit: spans not yet durable when draining', { error: err.message }));
    })());

  if (opts.capturePort !== undefined) {
    const directory = new TargetDirectory(policy.targets());
    await directory.refresh();
    directory.startRefreshing();
    opened.push('target directory', () => directory.stop());
    // A protocol-native refusal where the client speaks one sidegate knows (PostgreSQL's FATAL).
    const refuseInProtocol = (socket: Socket, detection: CaptureDetection | null, message: string) => {
      if (detection) adapterForDetection(detection.protocol)?.refuse(socket, message);
    };
    // Destinations no target names: passthrough or refuse, per the policy's egress section.
    const egress = new CapturedEgress({
      policy: policy.egress(),
      audit,
      log,
      ownPorts: () => [...bound.map((b) => b.port), ...(opts.admin ? [opts.admin.port] : [])],
      unresolvedTargetPorts: () => directory.unresolvedPorts(),
      guardedProtocols: new Set(ADAPTERS.map((a) => a.protocol)),
      detectors: ADAPTERS,
      refuse: refuseInProtocol,
    });
    let lastOverloadLog = 0;
    const capture = await startTransparentListener<CaptureRoute>({
      port: opts.capturePort,
      hosts: opts.captureHosts,
      detectors: ADAPTERS,
      onOverload: (client) => {
        metrics.captureOverloaded();
        // One line a second at most: the flood is the event, not each connection of it.
        const now = Date.now();
        if (now - lastOverloadLog < 1000) return;
        lastOverloadLog = now;
        log.warn('security: capture overloaded; closing new connections until detection frees up', { event: SecurityEvent.captureOverloaded, client: client.host });
      },
      originalDestination: opts.captureOriginalDestination,
      serverFirst: (dest) => {
        const target = directory.lookup(dest.host, dest.port);
        return target && adapterFor(target.protocol)?.serverFirst ? target.protocol : undefined;
      },
      resolveTarget: (dest, detection): CaptureRoute | null => {
        const target = directory.lookup(dest.host, dest.port);
        if (!target) {
          const decision = egress.decide(dest, detection);
          metrics.egressConnection(decision.action);
          return { egress: decision };
        }
        // A target only takes a connection that speaks its protocol. Anything else sent to a
        // target's address is refused, never relayed (egress is only for unnamed destinations).
        if (detection.protocol !== target.protocol || !adapterFor(target.protocol)) return null;
        return { target };
      },
      onConnection: (socket, dest, detection, route, initialBytes) =>
        'target' in route ? handle(route.target)(socket) : egress.handle(socket, dest, detection, route.egress, initialBytes),
      onUnknown: (socket, rejection) => {
        metrics.connectionRefused(rejection.reason);
        // A target's address spoken to in another protocol is refused as such, never relayed.
        const dest = rejection.destination;
        const target = dest ? directory.lookup(dest.host, dest.port) : undefined;
        const rule = target ? 'protocol-mismatch' : 'unknown-destination';
        const message = target
          ? `sidegate: ${dest!.host}:${dest!.port} is target "${target.name}", which speaks ${target.protocol}; a ${rejection.detection?.protocol ?? 'unrecognised'} connection is refused`
          : `sidegate: no policy target for ${dest?.host}:${dest?.port}; connection refused`;
        // Audited: a refused connection is evidence too.
        const span = audit.startSession({
          'sidegate.protocol': rejection.detection?.protocol ?? 'unknown',
          'sidegate.decision': 'deny',
          'sidegate.rule': rule,
          [ATTR_SERVER_ADDRESS]: dest?.host ?? '',
          [ATTR_SERVER_PORT]: dest?.port ?? 0,
          [ATTR_CLIENT_ADDRESS]: rejection.client.host,
          [ATTR_CLIENT_PORT]: rejection.client.port,
          [ATTR_TLS_CLIENT_SERVER_NAME]: rejection.detection?.sni,
          [ATTR_ERROR_TYPE]: rule,
        }, 'refused connection');
        span.end({ error: target ? message : rejection.message });
        log.warn('connection refused', { event: SecurityEvent.connectionRefused, rule, destination: dest ? `${dest.host}:${dest.port}` : undefined, protocol: rejection.detection?.protocol, client: rejection.client.host, traceId: span.traceId });
        refuseInProtocol(socket, rejection.detection, message);
      },
      onError: (err) => log.warn('capture error', { error: err.message }),
    });
    opened.push('capture listener', async () => {
      await capture.stopAccepting();
      capture.destroyAll();
    });
    listeners.push(capture);
    for (const a of capture.addresses) bound.push({ target: '*capture*', host: a.host, port: a.port });
    log.info('capturing', { port: opts.capturePort, egress: policy.egress().defaultAction });
  }

  const admin = opts.admin
    ? await startAdminServer({ host: opts.admin.host, port: opts.admin.port, ready: () => ready, metrics: metrics.registry, drain: () => drain(opts.drainGraceMs ?? 20_000) }).catch(
        (err: unknown) => {
          throw listenFailure('the admin server', opts.admin!, err);
        },
      )
    : undefined;
  ready = true;

  return {
    policy,
    listeners: bound,
    admin,
    broker: brokerInfo,
    audit,
    metrics,
    async stop(graceMs = 10_000) {
      await drain(graceMs);
      // Sessions still open are ended: their adapters close their runs' and sessions' spans.
      for (const l of listeners) l.destroyAll();
      await sleep(20);
      // After the sessions: revoking a login ends its sessions on the target.
      await exchangeCredentials?.revokeAll();
      auditHealth.stop();
      // The broker's decisions go into this trail (local mode): it stops before the trail drains.
      await stopBroker?.();
      const report = await audit.drain(auditDrainMs);
      reportUndelivered(log, report, audit.destination);
      await admin?.close();
      return report;
    },
  };
}

/** The token-exchange source; its token file must be readable now, as the broker's is. */
async function exchangeSource(exchange: NonNullable<SidecarOptions['exchange']>, log: Logger): Promise<ExchangeCredentials> {
  if ('token' in exchange) return new ExchangeCredentials({ url: exchange.url, token: exchange.token, ...(exchange.ca ? { ca: exchange.ca } : {}), ...(exchange.delegate !== undefined ? { delegate: exchange.delegate } : {}), log });
  // Read at every exchange: the kubelet replaces a projected token long before it expires.
  const tokenFile = new TokenFile(exchange.tokenFile);
  await tokenFile.read();
  const ca = exchange.caFile ? await readFile(exchange.caFile) : undefined;
  return new ExchangeCredentials({ url: exchange.url, token: () => tokenFile.read(), ...(ca ? { ca } : {}), log });
}

export const DEFAULT_AUDIT_DRAIN_MS = 3_000;

/** A bound from the environment: absent → undefined; anything but a positive integer is a startup error. */
function positiveIntegerEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
