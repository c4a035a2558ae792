// A connection of the exchange to a MariaDB target: always TLS, verify-full against the
// configured serverName (else the host), for the admin login and for the one statement an issued
// user runs itself. mysql2 sends SNI and checks the certificate's identity against its `host`, so
// `host` is the name expected and the TCP connection goes to the configured address; an IP
// address is never sent as SNI and is checked against the certificate's IP SANs.
import { isIP, connect as tcpConnect } from 'node:net';
import mysql from 'mysql2/promise';

export interface MariaDbEndpoint {
  host: string;
  port: number;
  /** The name the server's certificate must carry (default: the host). */
  serverName?: string;
  /** PEM bundle the certificate is verified with; system CAs when absent. */
  ca?: string;
  connectTimeoutMs: number;
}

export interface MariaDbLogin {
  user: string;
  password: string;
}

/** The name the certificate is verified against, or a throw for a configuration no check could honour. */
export function expectedServerName(endpoint: Pick<MariaDbEndpoint, 'host' | 'serverName'>): string {
  const expected = endpoint.serverName ?? endpoint.host;
  // An address as the name is checked against the address connected to (Node's own check).
  if (isIP(expected) && expected !== endpoint.host) throw new Error('tls.serverName may be an IP address only when it is the host');
  return expected;
}

export function connectMariaDb(endpoint: MariaDbEndpoint, login: MariaDbLogin): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: expectedServerName(endpoint),
    port: endpoint.port,
    stream: () => tcpConnect({ host: endpoint.host, port: endpoint.port }),
    user: login.user,
    password: login.password,
    ssl: { rejectUnauthorized: true, verifyIdentity: true, ...(endpoint.ca !== undefined ? { ca: endpoint.ca } : {}) },
    connectTimeout: endpoint.connectTimeoutMs,
    charset: 'utf8mb4',
    multipleStatements: false,
    // Nothing of ours reads files: the server may not ask the client for one.
    flags: ['-LOCAL_FILES'],
  });
}
