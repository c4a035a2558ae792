// `sidegate sidecar`: the pod's sidecar process. Targets are reached through their explicit
// `listen` addresses and/or the transparent capture port, with a real broker and the pod's
// projected ServiceAccount token as the fallback identity.
import type { Writable } from 'node:stream';
import { DEFAULT_AUDIT_DRAIN_MS, startSidecar } from '../runtime/sidecar-runtime.js';
import { parseCommandLine, usageError } from '../../core/command-line/command-line.js';
import { createLogger } from '../../core/logging/logger.js';
import { LOG_OPTIONS, logOptionsUsage, readLogSettings } from '../../core/command-line/log-options.js';
import { stopOnSignals } from '../../core/command-line/stop-on-signals.js';

export const SIDECAR_USAGE = `usage: sidegate sidecar --policy FILE [--credentials FILE] [--exchange-url URL ...] [options]

The pod's sidecar: verifies callers, decides, holds, masks and audits every command. SIGTERM or
SIGINT stops it gracefully (stop accepting, let sessions finish within SIDEGATE_GRACE_MS,
default 20000, end the rest, export spooled spans within --audit-drain-ms, log how many spans
were not delivered and the oldest one's start) and exits 0. Keep SIDEGATE_GRACE_MS plus twice
the audit drain below the pod's terminationGracePeriodSeconds (30 s by default): the preStop
drain and the stop each spend at most one audit drain.

options:
  --policy FILE              the policy (\`sidegate policy check\` runs the same checks as start-up)
  --credentials FILE         static target logins (targets with credentials: { file: KEY });
                             refused if group/others can read it (chmod 600)
  --exchange-url URL         the token exchange (https) for targets with credentials: { exchange: … }
  --exchange-token-file FILE the pod's projected token of the exchange's audience
  --exchange-ca-file FILE    PEM CA bundle for the exchange's certificate (default: system CAs)
  --credentials-from-secret  accept a credentials file readable by group/others: a Kubernetes
                             Secret volume mounted only into this container (mode 0444)
  --token-file FILE          the pod's projected ServiceAccount token: the identity of clients
                             that present no token
  --broker-url URL --broker-token-file FILE
                             the approval broker (default: one embedded in this process)
  --state-dir DIR            audit spool and broker state (default /var/run/sidegate)
  --admin-port PORT          /healthz, /readyz, /metrics, POST /drain (default 16002)
  --capture-port PORT        transparent capture: the port the init container redirects to
  --client-tls-cert FILE --client-tls-key FILE
                             serve TLS to clients
  --inspection on|off        off: statements are not parsed (benchmarks only; default on)
  --audit-drain-ms MS        how long a stop keeps exporting spooled spans (default ${DEFAULT_AUDIT_DRAIN_MS};
                             env SIDEGATE_AUDIT_DRAIN_MS)
  --audit-spool-max-bytes N  undelivered audit bytes above which commands are denied (default
                             268435456, 256 MiB; env SIDEGATE_AUDIT_SPOOL_MAX_BYTES); keep it below
                             the size limit of the volume --state-dir is on
${logOptionsUsage(29)}  -h, --help                 this text
`;

export async function runSidecarCommand(args: string[], io: { stdout: Writable; stderr: Writable; env?: NodeJS.ProcessEnv }): Promise<number> {
  const spec = {
    name: 'sidegate sidecar',
    usage: SIDECAR_USAGE,
    options: {
      policy: { type: 'string' },
      credentials: { type: 'string' },
      'token-file': { type: 'string' },
      'broker-url': { type: 'string' },
      'broker-token-file': { type: 'string' },
      'state-dir': { type: 'string', default: '/var/run/sidegate' },
      'admin-port': { type: 'string', default: '16002' },
      'client-tls-cert': { type: 'string' },
      'client-tls-key': { type: 'string' },
      inspection: { type: 'string', default: 'on' },
      'capture-port': { type: 'string' },
      'credentials-from-secret': { type: 'boolean', default: false },
      'exchange-url': { type: 'string' },
      'exchange-token-file': { type: 'string' },
      'exchange-ca-file': { type: 'string' },
      'audit-drain-ms': { type: 'string' },
      'audit-spool-max-bytes': { type: 'string' },
      ...LOG_OPTIONS,
    },
  } as const;
  const parsed = parseCommandLine(args, spec, io);
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  if (!values.policy) return usageError(spec, 'missing option --policy FILE', io);
  if (!values.credentials && !values['exchange-url']) return usageError(spec, 'missing option --credentials FILE or --exchange-url URL', io);
  if (Boolean(values['exchange-url']) !== Boolean(values['exchange-token-file'])) return usageError(spec, '--exchange-url and --exchange-token-file go together', io);
  if (values['exchange-ca-file'] && !values['exchange-url']) return usageError(spec, '--exchange-ca-file needs --exchange-url', io);
  if (values['exchange-url'] && !isHttpsUrl(values['exchange-url'])) return usageError(spec, '--exchange-url must be an https:// URL (the pod token and the credential travel over it)', io);
  for (const name of ['admin-port', 'capture-port'] as const) {
    const v = values[name];
    if (v !== undefined && (!/^\d+$/.test(v) || Number(v) > 65535)) return usageError(spec, `--${name} must be a TCP port, got "${v}"`, io);
  }
  for (const name of ['audit-drain-ms', 'audit-spool-max-bytes'] as const) {
    const v = values[name];
    if (v !== undefined && (!/^[1-9]\d{0,15}$/.test(v) || !Number.isSafeInteger(Number(v)))) return usageError(spec, `--${name} must be a positive integer, got "${v}"`, io);
  }
  if (values.inspection !== 'on' && values.inspection !== 'off') return usageError(spec, `--inspection must be on or off, got "${values.inspection}"`, io);
  if (Boolean(values['broker-url']) !== Boolean(values['broker-token-file'])) return usageError(spec, '--broker-url and --broker-token-file go together', io);
  if (Boolean(values['client-tls-cert']) !== Boolean(values['client-tls-key'])) return usageError(spec, '--client-tls-cert and --client-tls-key go together', io);
  const logSettings = readLogSettings(values, io.env ?? process.env);
  if ('problem' in logSettings) return usageError(spec, logSettings.problem, io);

  const log = createLogger(logSettings);
  const graceMs = Number(process.env['SIDEGATE_GRACE_MS'] ?? 20_000);
  const auditDrainMs = values['audit-drain-ms'] !== undefined ? Number(values['audit-drain-ms']) : undefined;
  const sidecar = await startSidecar({
    policyFile: values.policy,
    credentialsFile: values.credentials,
    exchange: values['exchange-url'] && values['exchange-token-file']
      ? { url: values['exchange-url'], tokenFile: values['exchange-token-file'], ...(values['exchange-ca-file'] ? { caFile: values['exchange-ca-file'] } : {}) }
      : undefined,
    tokenFile: values['token-file'],
    stateDir: values['state-dir'],
    broker: values['broker-url'] && values['broker-token-file'] ? { url: values['broker-url'], tokenFile: values['broker-token-file'] } : 'embedded',
    admin: { host: '0.0.0.0', port: Number(values['admin-port']) },
    clientTls: values['client-tls-cert'] && values['client-tls-key'] ? { certFile: values['client-tls-cert'], keyFile: values['client-tls-key'] } : undefined,
    inspection: values.inspection,
    capturePort: values['capture-port'] !== undefined ? Number(values['capture-port']) : undefined,
    // A Kubernetes Secret mounted only into this container: its 0444 mode is not a leak.
    allowInsecureCredentialsFile: values['credentials-from-secret'],
    auditDrainMs,
    maxSpoolBytes: values['audit-spool-max-bytes'] !== undefined ? Number(values['audit-spool-max-bytes']) : undefined,
    log,
  });
  log.info('sidecar ready', { listeners: sidecar.listeners.length });
  // The bound leaves both audit drains (the drain's flush, then the stop's) their time and a margin,
  // so the undelivered report is always written.
  const drainMs = auditDrainMs ?? Number(process.env['SIDEGATE_AUDIT_DRAIN_MS'] ?? DEFAULT_AUDIT_DRAIN_MS);
  stopOnSignals({
    name: 'sidegate sidecar',
    boundMs: graceMs + 2 * drainMs + 5_000,
    stderr: io.stderr,
    stopping: 'finishing open sessions, exporting the audit spool',
    stop: async () => void (await sidecar.stop(graceMs)),
  });
  return -1;
}

function isHttpsUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}
