// The MySQL/MariaDB adapter as the pipeline sees it (protocol-adapter.ts): its grammar, its
// per-process state (the connection ids it greets clients with, the targets' server versions),
// and a session per connection.
import type { Socket } from 'node:net';
import type { ProtocolAdapter } from '../../pipeline/protocol-adapter.js';
import type { ConnectionSession } from '../../pipeline/connection-session.js';
import { framePacket } from './packet-framer.js';
import { serializeErr } from './response-packets.js';
import { ConnectionIds } from './connection-ids.js';
import { detectMysqlReply } from './opening-detection.js';
import { MysqlCatalog } from './catalog-relations.js';
import { MysqlProxySession } from './proxy-session.js';
import { decisionFacts, initMysqlInspector, inspectMysql, type InspectedMysqlStatement } from './sql-inspector.js';
import { uninspectedMysql } from './uninspected-statement.js';

export const mysqlAdapter: ProtocolAdapter = {
  protocol: 'mysql',
  defaultPorts: [3306],
  // The server speaks first: a MySQL client sends nothing before the greeting, so its targets'
  // connections are the adapter's by destination. What a client sends after a greeting is still
  // recognised, for egress to addresses no target names (a guarded protocol, refused by default).
  serverFirst: true,
  detect: detectMysqlReply,
  init: initMysqlInspector,
  inspect: (text, target) => decisionFacts(inspectMysql(text, { target, dialect: 'mariadb' })),
  open(services, settings) {
    const deps = {
      settings,
      connectionIds: new ConnectionIds(),
      greetings: new Map(),
      catalog: new MysqlCatalog(services.credentials),
      inspect: settings.inspection === 'off' ? uninspectedMysql : inspectMysql,
    };
    return {
      serve: (connection, target, session) => {
        new MysqlProxySession(connection, target, deps, session as ConnectionSession<InspectedMysqlStatement>);
      },
    };
  },
  refuse(connection: Socket, message: string) {
    // A MySQL client reads an ERR in place of the greeting as the server's refusal.
    connection.write(framePacket(0, serializeErr({ errorCode: 1045, sqlState: '28000', message })).bytes);
  },
};
