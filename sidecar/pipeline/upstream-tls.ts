// How every adapter verifies its target's TLS, one way: the policy's `tls` mode (verify-full
// checks the chain and the name, verify-ca the chain only, require and prefer encrypt without
// checking), its CA file, and the name to expect. Each adapter runs its own protocol's TLS
// negotiation and reports failures in its own terms; what is verified is decided here.
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import type { UpstreamTls } from '../../core/vocabulary.js';

/** The CA file configured for the target could not be read. */
export class UnreadableCaFile extends Error {
  constructor() {
    super('cannot read the CA file configured for the target');
  }
}

/** tls.connect options over `socket` for a target at `host` with the policy's `tls` settings. */
export async function upstreamTlsOptions(socket: net.Socket, host: string, settings: UpstreamTls): Promise<tls.ConnectionOptions> {
  const mode = settings.mode;
  const verify = mode === 'verify-full' || mode === 'verify-ca';
  let ca: Buffer | undefined;
  if (verify && settings.caFile) {
    try {
      ca = await readFile(settings.caFile);
    } catch {
      throw new UnreadableCaFile();
    }
  }
  const expectedName = settings.serverName ?? host;
  return {
    socket,
    ca,
    // SNI must be a host name, never an address.
    servername: net.isIP(expectedName) ? undefined : expectedName,
    minVersion: 'TLSv1.2',
    rejectUnauthorized: verify,
    checkServerIdentity: mode === 'verify-full' ? (_host, cert) => tls.checkServerIdentity(expectedName, cert) : () => undefined,
  };
}
