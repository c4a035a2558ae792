// `sidegate sidecar`: the pod's sidecar process. Until transparent capture lands, targets are
// reached through their explicit `listen` addresses, exactly as in local mode, but with a real
// broker and the pod's projected ServiceAccount token as the fallback identity.
import { parseArgs } from 'node:util';
import { startSidecar } from '../runtime/sidecar-runtime.js';
import { createLogger } from '../../core/logging/logger.js';

export async function runSidecarCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
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
    },
  });
  if (!values.policy || !values.credentials) {
    process.stderr.write('sidegate sidecar: --policy and --credentials are required\n');
    return 2;
  }
  const log = createLogger();
  const sidecar = await startSidecar({
    policyFile: values.policy,
    credentialsFile: values.credentials,
    tokenFile: values['token-file'],
    stateDir: values['state-dir']!,
    broker:
      values['broker-url'] && values['broker-token-file']
        ? { url: values['broker-url'], tokenFile: values['broker-token-file'] }
        : 'embedded',
    admin: { host: '0.0.0.0', port: Number(values['admin-port']) },
    clientTls:
      values['client-tls-cert'] && values['client-tls-key']
        ? { certFile: values['client-tls-cert'], keyFile: values['client-tls-key'] }
        : undefined,
    inspection: values.inspection === 'off' ? 'off' : 'on',
    capturePort: values['capture-port'] !== undefined ? Number(values['capture-port']) : undefined,
    // A Kubernetes Secret mounted only into this container: its 0444 mode is not a leak.
    allowInsecureCredentialsFile: values['credentials-from-secret'] === true,
    log,
  });
  log.info('sidecar ready', { listeners: sidecar.listeners.length });
  const stop = async () => {
    await sidecar.stop(Number(process.env['SIDEGATE_GRACE_MS'] ?? 20_000));
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  return -1;
}
