// Local mode's token exchange, in this process: the service `sidegate exchange` runs (grants, the
// PostgreSQL credential issuer, the expiry sweeper, POST /v1/token and /v1/revoke), trusting local
// mode's own issuer by its key file, against the embedded demo database with the demo's superuser
// as the admin login. Plain HTTP on 127.0.0.1 and no TLS to the demo database: nothing of it
// leaves this machine. What a newcomer sees is the production path: the sidecar's login obtained
// by exchange, revoked when local mode stops.
import { chmod, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { IdentityError, TokenVerifier } from '../../core/tokens/index.js';
import { createAuditTrail } from '../../core/audit/index.js';
import { AuditedOutcomes } from '../../exchange/evidence/audited-outcomes.js';
import type { Logger } from '../../core/logging/logger.js';
import { parseExchangeConfig } from '../../exchange/config/exchange-config.js';
import { PostgresCredentialIssuer } from '../../exchange/postgres/postgres-credential-issuer.js';
import { startExchangeServer } from '../../exchange/server/exchange-server.js';
import type { CredentialIssuer } from '../../exchange/service/credential-issuer.js';
import { startExpirySweeper } from '../../exchange/service/expiry-sweeper.js';
import { TokenExchange, type SubjectVerifier } from '../../exchange/service/token-exchange.js';

export interface EmbeddedExchangeOptions {
  stateDir: string;
  /** Whose tokens are exchanged: local mode's issuer, its public keys file, the audience and the one subject granted. */
  subjects: { issuer: string; jwksFile: string; audience: string; subject: string };
  /** Targets the embedded demo database serves, each granted `templateRole`. */
  targets: { name: string; host: string; port: number; database: string; templateRole: string }[];
  log: Logger;
}

export interface EmbeddedExchange {
  url: string;
  close(): Promise<void>;
}

export async function startEmbeddedExchange(opts: EmbeddedExchangeOptions): Promise<EmbeddedExchange> {
  // The demo database takes any password; the admin login still reads one from a file, as it would in production.
  const adminPasswordFile = join(opts.stateDir, 'exchange-admin-password');
  await writeFile(adminPasswordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  await chmod(adminPasswordFile, 0o600);
  const config = parseExchangeConfig({
    // Local mode's issuer stands for the cluster's: its one granted subject is the sidecar itself,
    // whose token no client holds, so it stands alone (no actor) as a pod's does.
    issuers: [{ issuer: opts.subjects.issuer, audience: opts.subjects.audience, kubernetes: true }],
    targets: opts.targets.map((t) => ({ name: t.name, protocol: 'postgres', host: t.host, port: t.port, database: t.database, admin: { username: 'postgres', passwordFile: adminPasswordFile } })),
    grants: opts.targets.map((t) => ({ name: `local-${t.name}`, issuer: opts.subjects.issuer, subject: opts.subjects.subject, target: t.name, roles: [t.templateRole], ttl: '1h' })),
  });
  // The issuer's keys are a local file, which exchange.yaml does not offer: the verifier is built here.
  const verifier = new TokenVerifier([{ issuer: opts.subjects.issuer, audiences: [opts.subjects.audience], jwksFile: opts.subjects.jwksFile, clockSkewSeconds: 30 }]);
  // No delegation here: the sidecar exchanges its own token only (local-command.ts).
  const subjects: SubjectVerifier = {
    verify: (token) => verifier.verify(token),
    verifyActor: () => Promise.reject(new IdentityError('unknown-issuer', "local mode's exchange takes no actor token")),
    standsAlone: () => true,
  };
  const issuers: CredentialIssuer[] = [];
  // Its evidence as the service keeps it: a trail of its own (the sidecar's starts later), to the
  // same collector when one is configured, else a file beside the sidecar's.
  const trail = await createAuditTrail({
    serviceName: 'sidegate-exchange',
    spoolDir: join(opts.stateDir, 'exchange-spool'),
    filePath: join(opts.stateDir, 'exchange-audit.otlp.jsonl'),
    log: opts.log,
  });
  const evidence = new AuditedOutcomes(trail, opts.log);
  try {
    // Every target here is the demo PostgreSQL (built above).
    for (const target of config.targets) if (target.protocol === 'postgres') issuers.push(await PostgresCredentialIssuer.open(target, opts.log, {}, { plaintextLoopback: true }));
    const exchange = new TokenExchange({ subjects, grants: config.grants, issuers: new Map(issuers.map((i) => [i.target, i])), log: opts.log, evidence });
    const server = await startExchangeServer({ exchange, host: '127.0.0.1', port: 0, maxConcurrent: config.maxConcurrent });
    const sweeper = startExpirySweeper(issuers, config.sweepInterval, opts.log, undefined, (target, dropped) => evidence.expired(target, dropped));
    return {
      url: server.url,
      close: async () => {
        await server.close();
        await sweeper.stop();
        await Promise.all(issuers.map((i) => i.close()));
        await trail.shutdown();
      },
    };
  } catch (err) {
    await Promise.all(issuers.map((i) => i.close().catch(() => undefined)));
    await trail.shutdown().catch(() => undefined);
    throw err;
  }
}
