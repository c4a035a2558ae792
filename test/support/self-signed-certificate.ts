// Tests run real HTTPS: a throwaway self-signed certificate for localhost/127.0.0.1 made with the
// openssl CLI (the test command installs it), in a fresh temporary directory.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  dir: string;
  certFile: string;
  keyFile: string;
  cert: string;
}

/** `altNames`: extra subjectAltName entries such as `DNS:git.test` (localhost and 127.0.0.1 are always in). */
export function makeSelfSignedCertificate(dir = mkdtempSync(join(tmpdir(), 'sidegate-webhook-tls-')), name = 'tls', altNames: string[] = []): TestCertificate {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost',
    '-addext', `subjectAltName=${['DNS:localhost', 'IP:127.0.0.1', ...altNames].join(',')}`,
  ], { stdio: 'pipe' });
  return { dir, certFile, keyFile, cert: readFileSync(certFile, 'utf8') };
}
