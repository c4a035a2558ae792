// `sidegate webhook --tls-cert FILE --tls-key FILE [--config FILE] …`: the mutating admission
// webhook. Namespace labels come from the Kubernetes API (in-cluster by default) or, without a
// cluster, from --namespaces-file. Any configuration problem stops startup with exit code 2: a
// webhook that started with a misread configuration would inject the wrong thing.
import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import { defaultInjectionConfig, loadInjectionConfigFile, type InjectionConfig } from '../config/injection-config.js';
import { createInClusterNamespaceLookup, loadNamespacesFile, type NamespaceLookup } from '../admission/namespace-lookup.js';
import { startWebhookServer, type WebhookServer } from '../admission/webhook-server.js';
import { createLogger, type Logger } from '../../core/logging/logger.js';

export interface WebhookCommandIo {
  stdout: Writable;
  stderr: Writable;
  env?: NodeJS.ProcessEnv;
  log?: Logger;
}

export const WEBHOOK_USAGE = `usage: sidegate webhook --tls-cert FILE --tls-key FILE [--config FILE]
                        [--host ADDR] [--port PORT]
                        [--namespaces-file FILE | --kube-api-url URL --kube-token-file FILE --kube-ca-file FILE]
`;

/** Parses arguments and starts the server; exit-code problems come back as numbers. */
export async function startWebhookFromArgs(argv: string[], io: WebhookCommandIo): Promise<WebhookServer | number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
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
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    io.stderr.write(`sidegate webhook: ${(err as Error).message}\n${WEBHOOK_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(WEBHOOK_USAGE);
    return 0;
  }
  if (!values['tls-cert'] || !values['tls-key']) {
    io.stderr.write(`sidegate webhook: --tls-cert and --tls-key are required (the API server only calls webhooks over HTTPS)\n${WEBHOOK_USAGE}`);
    return 2;
  }
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
    host: values.host!,
    port,
    tls: { certFile: values['tls-cert'], keyFile: values['tls-key'] },
    config,
    namespaceLookup,
    log: io.log ?? createLogger(),
  });
  io.stdout.write(`sidegate webhook: listening on ${server.url} (sidecar mode ${config.sidecarMode}, escape policy ${config.escapePolicy}, failure mode ${config.failureMode})\n`);
  return server;
}

/** The CLI entry: runs until SIGTERM/SIGINT. Returns -1 while running, like `sidegate sidecar`. */
export async function runWebhookCommand(argv: string[], io: WebhookCommandIo): Promise<number> {
  const started = await startWebhookFromArgs(argv, io);
  if (typeof started === 'number') return started;
  const stop = async () => {
    await started.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  return -1;
}
