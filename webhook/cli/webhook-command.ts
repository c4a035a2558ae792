// `sidegate webhook --tls-cert FILE --tls-key FILE [--config FILE] …`: the mutating admission
// webhook. Namespace labels come from the Kubernetes API (in-cluster by default) or, without a
// cluster, from --namespaces-file. Any configuration problem stops startup with exit code 2: a
// webhook that started with a misread configuration would inject the wrong thing.
import type { Writable } from 'node:stream';
import { defaultInjectionConfig, loadInjectionConfigFile, type InjectionConfig } from '../config/injection-config.js';
import { createInClusterNamespaceLookup, loadNamespacesFile, type NamespaceLookup } from '../admission/namespace-lookup.js';
import { startWebhookServer, type WebhookServer } from '../admission/webhook-server.js';
import { createLogger, type Logger } from '../../core/logging/logger.js';
import { parseCommandLine, usageError } from '../../core/command-line/command-line.js';
import { LOG_OPTIONS, logOptionsUsage, readLogSettings } from '../../core/command-line/log-options.js';
import { stopOnSignals } from '../../core/command-line/stop-on-signals.js';

export interface WebhookCommandIo {
  stdout: Writable;
  stderr: Writable;
  env?: NodeJS.ProcessEnv;
  log?: Logger;
}

export const WEBHOOK_USAGE = `usage: sidegate webhook --tls-cert FILE --tls-key FILE [--config FILE]
                        [--host ADDR] [--port PORT] [--log-level LEVEL] [--log-format FORMAT]
                        [--namespaces-file FILE | --kube-api-url URL --kube-token-file FILE --kube-ca-file FILE]

The mutating admission webhook that injects the sidegate sidecar into CI runner pods, over HTTPS.
Namespace labels come from the Kubernetes API (in-cluster by default) or --namespaces-file.
Configuration problems exit 2; SIGTERM or SIGINT stops it.

options:
  --tls-cert FILE --tls-key FILE   the serving certificate (required)
  --config FILE                    injection configuration (YAML; default: built-in defaults)
  --host ADDR --port PORT          where to listen (default 0.0.0.0:8443)
  --namespaces-file FILE           namespace labels from a file instead of the Kubernetes API
  --kube-api-url URL --kube-token-file FILE --kube-ca-file FILE
                                   the Kubernetes API outside the in-cluster defaults
${logOptionsUsage(35)}  -h, --help                       this text
`;

const WEBHOOK_SPEC = {
  name: 'sidegate webhook',
  usage: WEBHOOK_USAGE,
  options: {
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    config: { type: 'string' },
    host: { type: 'string', default: '0.0.0.0' },
    port: { type: 'string', default: '8443' },
    'namespaces-file': { type: 'string' },
    'kube-api-url': { type: 'string' },
    'kube-token-file': { type: 'string' },
    'kube-ca-file': { type: 'string' },
    ...LOG_OPTIONS,
  },
} as const;

/** Parses arguments and starts the server; exit-code problems come back as numbers. */
export async function startWebhookFromArgs(argv: string[], io: WebhookCommandIo): Promise<WebhookServer | number> {
  const parsed = parseCommandLine(argv, WEBHOOK_SPEC, io);
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  if (!values['tls-cert'] || !values['tls-key']) {
    return usageError(WEBHOOK_SPEC, '--tls-cert and --tls-key are required (the API server only calls webhooks over HTTPS)', io);
  }
  const logSettings = readLogSettings(values, io.env ?? process.env);
  if ('problem' in logSettings) return usageError(WEBHOOK_SPEC, logSettings.problem, io);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    io.stderr.write(`sidegate webhook: --port must be a TCP port, got "${values.port}"\n`);
    return 2;
  }
  let config: InjectionConfig;
  let namespaceLookup: NamespaceLookup;
  try {
    config = values.config ? await loadInjectionConfigFile(values.config) : defaultInjectionConfig;
    namespaceLookup = values['namespaces-file']
      ? await loadNamespacesFile(values['namespaces-file'])
      : createInClusterNamespaceLookup({
          apiUrl: values['kube-api-url'],
          tokenFile: values['kube-token-file'],
          caFile: values['kube-ca-file'],
          env: io.env ?? process.env,
        });
  } catch (err) {
    io.stderr.write(`sidegate webhook: ${(err as Error).message}\n`);
    return 2;
  }
  const server = await startWebhookServer({
    host: values.host,
    port,
    tls: { certFile: values['tls-cert'], keyFile: values['tls-key'] },
    config,
    namespaceLookup,
    log: io.log ?? createLogger(logSettings),
  });
  io.stdout.write(`sidegate webhook: listening on ${server.url} (sidecar mode ${config.sidecarMode}, escape policy ${config.escapePolicy}, failure mode ${config.failureMode})\n`);
  return server;
}

/** The CLI entry: runs until SIGTERM/SIGINT. Returns -1 while running, like `sidegate sidecar`. */
export async function runWebhookCommand(argv: string[], io: WebhookCommandIo): Promise<number> {
  const started = await startWebhookFromArgs(argv, io);
  if (typeof started === 'number') return started;
  stopOnSignals({ name: 'sidegate webhook', boundMs: 10_000, stderr: io.stderr, stopping: 'finishing admission reviews', stop: () => started.close() });
  return -1;
}
