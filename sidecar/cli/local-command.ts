// `sidegate local`: the main job on a laptop. Example policy, local token issuer, embedded demo
// target unless --upstream names a real one, in-process approval broker, spans to a local file
// (or to OTEL_EXPORTER_OTLP_ENDPOINT when set). Prints how to connect and what to try.
import { parseArgs } from 'node:util';
import { access, writeFile, chmod } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { startSidecar } from '../runtime/sidecar-runtime.js';
import { ensureLocalIssuer, mintLocalToken } from '../local/local-issuer.js';
import { loadEmbeddedDemoTarget } from '../local/load-embedded-demo-target.js';
import { createLogger } from '../../core/logging/logger.js';

const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export async function runLocal(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      policy: { type: 'string' },
      credentials: { type: 'string' },
      'state-dir': { type: 'string', default: '.sidegate' },
      upstream: { type: 'string' },
      'admin-port': { type: 'string', default: '16002' },
    },
  });
  const stateDir = resolve(values['state-dir']!);
  const log = createLogger();
  const started = Date.now();
  // Before any state is written: an installation without the demo database stops here.
  const startEmbeddedDemoTarget = values.upstream ? undefined : await loadEmbeddedDemoTarget();
  await ensureLocalIssuer(stateDir);
  const policyFile = values.policy ?? join(PACKAGE_ROOT, 'policies/examples/local-demo.yaml');

  let credentialsFile = values.credentials;
  if (!credentialsFile) {
    // The embedded demo target accepts any password; a real one needs --credentials.
    credentialsFile = join(stateDir, 'credentials.yaml');
    if (!(await exists(credentialsFile))) {
      await writeFile(credentialsFile, `targets:\n  demo: { username: postgres, password: "${randomBytes(12).toString('hex')}" }\n`, { mode: 0o600 });
      await chmod(credentialsFile, 0o600);
    }
  }

  let embedded: { close(): Promise<void> } | undefined;
  if (startEmbeddedDemoTarget) {
    embedded = await startEmbeddedDemoTarget({ host: '127.0.0.1', port: 55433 });
  }

  const sidecar = await startSidecar({
    policyFile,
    credentialsFile,
    stateDir,
    broker: 'embedded',
    admin: { host: '127.0.0.1', port: Number(values['admin-port']) },
    log,
  });
  const token = await mintLocalToken(stateDir);
  const tokenFile = join(stateDir, 'token');
  await writeFile(tokenFile, token + '\n', { mode: 0o600 });

  const l = sidecar.listeners[0];
  const out = process.stdout;
  out.write(`\nsidegate local mode is running (ready in ${Date.now() - started} ms)\n`);
  for (const b of sidecar.listeners) {
    const t = sidecar.policy.target(b.target)!;
    out.write(`  target "${b.target}" → ${t.host}:${t.port}${embedded ? ' (embedded PostgreSQL)' : ''}, listening on ${b.host}:${b.port}\n`);
  }
  out.write(`  policy: ${policyFile}\n  audit trail: ${process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] ?? join(stateDir, 'audit.otlp.jsonl')}\n`);
  out.write(`  approvals broker: ${sidecar.broker?.url}   admin: ${sidecar.admin?.url}\n\n`);
  if (l) {
    out.write(`Connect with psql; your identity token (a local OIDC token) is the password:\n`);
    out.write(`  PGPASSWORD=$(cat ${tokenFile}) psql "host=${l.host} port=${l.port} dbname=postgres user=ci sslmode=disable"\n\n`);
    out.write(`Then try:\n`);
    out.write(`  SELECT id, customer_id, total FROM orders LIMIT 3;     -- allowed\n`);
    out.write(`  SELECT name, email, card, notes FROM customers;        -- masked columns and detected secrets\n`);
    out.write(`  DROP TABLE orders;                                     -- denied by rule\n`);
    out.write(`  UPDATE orders SET total = total + 1 WHERE id = 1;      -- held for approval; in a second terminal:\n`);
    out.write(`      npm run -s sidegate -- approvals list\n`);
    out.write(`      npm run -s sidegate -- approvals approve <ID>\n`);
    out.write(`  and the trace:  npm run -s sidegate -- audit show\n\n`);
  }
  const stop = async () => {
    out.write('stopping…\n');
    await sidecar.stop(5000);
    await embedded?.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
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
