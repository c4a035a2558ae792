// The PostgreSQL adapter as the pipeline sees it (protocol-adapter.ts): its grammar, its
// per-process state (cancel keys, catalog names for column masking), and a session per connection.
import type { Socket } from 'node:net';
import type { ProtocolAdapter } from '../../pipeline/protocol-adapter.js';
import { serializeError } from './backend-messages.js';
import { CancelRegistry } from './cancel-registry.js';
import { CatalogNames } from './catalog-names.js';
import { PostgresProxySession } from './proxy-session.js';
import { decisionFacts, initSqlInspector, inspectSql } from './sql-inspector.js';
import { uninspected } from './uninspected-statement.js';
import { detectPostgresOpening } from './opening-detection.js';

export const postgresAdapter: ProtocolAdapter = {
  protocol: 'postgres',
  defaultPorts: [5432],
  detect: detectPostgresOpening,
  // PostgreSQL 17's direct TLS (sslnegotiation=direct) opens with a ClientHello offering this.
  tlsAlpn: ['postgresql'],
  init: initSqlInspector,
  inspect: (text, target) => decisionFacts(inspectSql(text, { target })),
  open(services, settings) {
    const deps = {
      settings,
      catalog: new CatalogNames(services.credentials),
      cancelRegistry: new CancelRegistry(),
      inspect: settings.inspection === 'off' ? uninspected : undefined,
    };
    return {
      serve: (connection, target, session) => {
        new PostgresProxySession(connection, target, deps, session);
      },
    };
  },
  refuse(connection: Socket, message: string) {
    // Before any startup exchange a client reads an ErrorResponse as the server's refusal (28000).
    connection.write(serializeError({ severity: 'FATAL', code: '28000', message }));
  },
};
