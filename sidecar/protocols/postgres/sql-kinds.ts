// Statement kind and operation name from the parse tree (pure). `operation` is what
// OpenTelemetry's db.operation.name says; `kinds` are the policy's vocabulary, most specific
// first, so a rule can say `select` or `read`, `drop` or `ddl`.

export interface Classification {
  operation: string;
  kinds: string[];
  flags: string[];
}

type Node = Record<string, unknown>;

const OBJECT_NAMES: Record<string, string> = {
  OBJECT_TABLE: 'TABLE', OBJECT_INDEX: 'INDEX', OBJECT_VIEW: 'VIEW', OBJECT_MATVIEW: 'MATERIALIZED VIEW', OBJECT_SEQUENCE: 'SEQUENCE',
  OBJECT_SCHEMA: 'SCHEMA', OBJECT_FUNCTION: 'FUNCTION', OBJECT_PROCEDURE: 'PROCEDURE', OBJECT_TYPE: 'TYPE', OBJECT_DATABASE: 'DATABASE',
  OBJECT_ROLE: 'ROLE', OBJECT_EXTENSION: 'EXTENSION', OBJECT_TRIGGER: 'TRIGGER', OBJECT_FOREIGN_TABLE: 'FOREIGN TABLE', OBJECT_DOMAIN: 'DOMAIN',
  OBJECT_COLUMN: 'COLUMN', OBJECT_AGGREGATE: 'AGGREGATE', OBJECT_OPERATOR: 'OPERATOR', OBJECT_POLICY: 'POLICY', OBJECT_RULE: 'RULE',
  OBJECT_TABLESPACE: 'TABLESPACE', OBJECT_PUBLICATION: 'PUBLICATION', OBJECT_SUBSCRIPTION: 'SUBSCRIPTION', OBJECT_COLLATION: 'COLLATION',
  OBJECT_CONVERSION: 'CONVERSION', OBJECT_EVENT_TRIGGER: 'EVENT TRIGGER', OBJECT_FDW: 'FOREIGN DATA WRAPPER', OBJECT_FOREIGN_SERVER: 'SERVER',
  OBJECT_LANGUAGE: 'LANGUAGE', OBJECT_ROUTINE: 'ROUTINE', OBJECT_STATISTIC_EXT: 'STATISTICS', OBJECT_TSCONFIGURATION: 'TEXT SEARCH CONFIGURATION',
  OBJECT_TSDICTIONARY: 'TEXT SEARCH DICTIONARY', OBJECT_TSPARSER: 'TEXT SEARCH PARSER', OBJECT_TSTEMPLATE: 'TEXT SEARCH TEMPLATE',
  OBJECT_ACCESS_METHOD: 'ACCESS METHOD', OBJECT_CAST: 'CAST', OBJECT_TRANSFORM: 'TRANSFORM', OBJECT_TABCONSTRAINT: 'CONSTRAINT',
};

/** `OBJECT_X` → SQL's name for it; unknown object types keep a readable fallback. */
function objectName(objtype: unknown): string {
  return OBJECT_NAMES[String(objtype)] ?? 'OBJECT';
}

/** `CreatePolicyStmt` → `CREATE POLICY`: the operation name for statements without a case of their own. */
function operationFromNodeType(type: string): string {
  return type.replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase();
}

/**
 * Classifies one parsed statement, `{ <NodeType>: {...} }` as libpg-query returns it. Statements
 * that wrap another carry its kinds when the wrapped one runs: EXPLAIN ANALYZE executes it, and a
 * PREPAREd statement will be EXECUTEd later without its text.
 */
export function classifyStatement(stmt: Node): Classification {
  const [type, node] = firstEntry(stmt);
  const own = classify(type, node);
  if (type !== 'ExplainStmt' && type !== 'PrepareStmt') return own;
  const query = node['query'];
  if (query === null || typeof query !== 'object') return own;
  const wrapped = classifyStatement(query as Node);
  if (type === 'PrepareStmt') return { operation: 'PREPARE', kinds: [...wrapped.kinds, 'prepare'], flags: wrapped.flags };
  if (!explainAnalyzes(node)) return own;
  return { operation: 'EXPLAIN', kinds: ['explain', ...wrapped.kinds.filter((k) => k !== 'explain')], flags: wrapped.flags };
}

/** EXPLAIN ANALYZE, EXPLAIN (ANALYZE), EXPLAIN (ANALYZE on|true|1) run the statement. */
export function explainAnalyzes(node: Node): boolean {
  const options = Array.isArray(node['options']) ? (node['options'] as Node[]) : [];
  return options.some((o) => {
    const def = o['DefElem'] as Node | undefined;
    if (def?.['defname'] !== 'analyze') return false;
    const arg = def['arg'] as Node | undefined;
    if (!arg) return true;
    const sval = (arg['String'] as Node | undefined)?.['sval'];
    const ival = (arg['Integer'] as Node | undefined)?.['ival'];
    const bval = (arg['Boolean'] as Node | undefined)?.['boolval'];
    // Anything but an explicit "off" counts as running: misreading it must not hide a write.
    if (typeof sval === 'string' && ['false', 'off', 'no', '0'].includes(sval.toLowerCase())) return false;
    if ('Integer' in arg && (ival === undefined || ival === 0)) return false;
    if ('Boolean' in arg && !bval) return false;
    return true;
  });
}

function firstEntry(stmt: Node): [string, Node] {
  const entry = Object.entries(stmt)[0];
  if (!entry || entry[1] === null || typeof entry[1] !== 'object') return ['Unknown', {}];
  return [entry[0], entry[1] as Node];
}

/** Classifies one statement node by its type alone (no unwrapping). */
export function classify(type: string, node: Node): Classification {
  const flags: string[] = [];
  const c = (operation: string, ...kinds: string[]): Classification => ({ operation, kinds, flags });
  switch (type) {
    case 'SelectStmt': {
      if (node['intoClause']) return c('SELECT INTO', 'create', 'ddl', 'write');
      const locking = Array.isArray(node['lockingClause']) && (node['lockingClause'] as unknown[]).length > 0;
      return locking ? c('SELECT', 'select', 'read', 'lock') : c('SELECT', 'select', 'read');
    }
    case 'InsertStmt':
      return node['onConflictClause'] ? c('INSERT', 'insert', 'upsert', 'write') : c('INSERT', 'insert', 'write');
    case 'UpdateStmt':
      return c('UPDATE', 'update', 'write');
    case 'DeleteStmt':
      return c('DELETE', 'delete', 'write');
    case 'MergeStmt':
      return c('MERGE', 'merge', 'write');
    case 'CopyStmt':
      // FROM/TO PROGRAM runs a shell command on the database server; a file name reads or writes
      // the server's file system. Both deserve rules of their own.
      // Neither is `read` or `copy-out`: no read rule may cover running a program or writing a file.
      if (node['is_program']) {
        flags.push('copy-program');
        return node['is_from'] ? c('COPY', 'server-program', 'copy', 'copy-in', 'write') : c('COPY', 'server-program', 'copy');
      }
      if (typeof node['filename'] === 'string') {
        flags.push('server-file');
        return node['is_from']
          ? c('COPY', 'server-file-read', 'server-file', 'copy', 'copy-in', 'write')
          : c('COPY', 'server-file-write', 'server-file', 'copy');
      }
      return node['is_from'] ? c('COPY', 'copy', 'copy-in', 'write') : c('COPY', 'copy', 'copy-out', 'read');
    case 'TruncateStmt':
      return c('TRUNCATE', 'truncate', 'ddl', 'write');
    case 'CreateStmt':
      return c('CREATE TABLE', 'create', 'ddl', 'write');
    case 'CreateTableAsStmt':
      return c(node['objtype'] === 'OBJECT_MATVIEW' ? 'CREATE MATERIALIZED VIEW' : 'CREATE TABLE AS', 'create', 'ddl', 'write');
    case 'ViewStmt':
      return c('CREATE VIEW', 'create', 'ddl', 'write');
    case 'IndexStmt':
      return c('CREATE INDEX', 'create', 'ddl', 'write');
    case 'CreateFunctionStmt':
      return c(node['is_procedure'] ? 'CREATE PROCEDURE' : 'CREATE FUNCTION', 'create', 'ddl', 'write');
    case 'CreateSchemaStmt':
      return c('CREATE SCHEMA', 'create', 'ddl', 'write');
    case 'CreateSeqStmt':
      return c('CREATE SEQUENCE', 'create', 'ddl', 'write');
    case 'CreateExtensionStmt':
      return c('CREATE EXTENSION', 'create', 'ddl', 'write');
    case 'CreatedbStmt':
      return c('CREATE DATABASE', 'create', 'ddl', 'write');
    case 'CreateTrigStmt':
      return c('CREATE TRIGGER', 'create', 'ddl', 'write');
    case 'AlterTableStmt':
      return c(`ALTER ${objectName(node['objtype'] ?? 'OBJECT_TABLE')}`, 'alter', 'ddl', 'write');
    case 'RenameStmt': {
      // Renaming a column or constraint alters the relation that owns it.
      const own = node['renameType'] === 'OBJECT_COLUMN' || node['renameType'] === 'OBJECT_TABCONSTRAINT';
      return c(`ALTER ${objectName(own ? node['relationType'] : node['renameType'])}`, 'alter', 'ddl', 'write');
    }
    case 'AlterObjectSchemaStmt':
    case 'AlterOwnerStmt':
      return c(`ALTER ${objectName(node['objectType'])}`, 'alter', 'ddl', 'write');
    case 'AlterSeqStmt':
      return c('ALTER SEQUENCE', 'alter', 'ddl', 'write');
    case 'DefineStmt':
      return c(`CREATE ${objectName(node['kind'])}`, 'create', 'ddl', 'write');
    case 'CompositeTypeStmt':
    case 'CreateEnumStmt':
    case 'CreateRangeStmt':
      return c('CREATE TYPE', 'create', 'ddl', 'write');
    case 'RuleStmt':
      return c('CREATE RULE', 'create', 'ddl', 'write');
    case 'DropStmt':
      return c(`DROP ${objectName(node['removeType'])}`, 'drop', 'ddl', 'write');
    case 'DropdbStmt':
      return c('DROP DATABASE', 'drop', 'ddl', 'write');
    case 'GrantStmt':
      return node['is_grant'] ? c('GRANT', 'grant', 'dcl', 'write') : c('REVOKE', 'revoke', 'dcl', 'write');
    case 'GrantRoleStmt':
      return node['is_grant'] ? c('GRANT', 'grant', 'dcl', 'write') : c('REVOKE', 'revoke', 'dcl', 'write');
    case 'CreateRoleStmt':
      return c(node['stmt_type'] === 'ROLESTMT_USER' ? 'CREATE USER' : node['stmt_type'] === 'ROLESTMT_GROUP' ? 'CREATE GROUP' : 'CREATE ROLE', 'role', 'dcl', 'write');
    case 'AlterRoleStmt':
    case 'AlterRoleSetStmt':
      return c('ALTER ROLE', 'role', 'dcl', 'write');
    case 'DropRoleStmt':
      return c('DROP ROLE', 'role', 'dcl', 'write');
    case 'AlterDefaultPrivilegesStmt':
      return (node['action'] as Node | undefined)?.['is_grant']
        ? c('ALTER DEFAULT PRIVILEGES', 'grant', 'dcl', 'write')
        : c('ALTER DEFAULT PRIVILEGES', 'revoke', 'dcl', 'write');
    case 'ReassignOwnedStmt':
      return c('REASSIGN OWNED', 'role', 'dcl', 'write');
    case 'DropOwnedStmt':
      return c('DROP OWNED', 'drop', 'ddl', 'write');
    case 'AlterSystemStmt':
      return c('ALTER SYSTEM', 'alter', 'admin', 'write');
    case 'LoadStmt':
      return c('LOAD', 'admin', 'write');
    case 'RefreshMatViewStmt':
      return c('REFRESH MATERIALIZED VIEW', 'refresh', 'write');
    case 'TransactionStmt':
      return c(transactionOperation(String(node['kind'])), 'transaction');
    case 'VariableSetStmt':
      // SET ROLE / SET SESSION AUTHORIZATION change whose privileges the session runs with.
      // GUC names compare case-insensitively (`SET "ROLE" = …` is SET ROLE).
      const setting = String(node['name'] ?? '').toLowerCase();
      const operation = node['kind'] === 'VAR_RESET' || node['kind'] === 'VAR_RESET_ALL' ? 'RESET' : 'SET';
      // Changes how unqualified names resolve; the session then reads them warily (see policy).
      if (setting === 'search_path' || node['kind'] === 'VAR_RESET_ALL') flags.push('search-path');
      if (setting === 'role' || setting === 'session_authorization') {
        flags.push('role-switch');
        // RESET returns to the login role; SET assumes another one: who the session is changes,
        // so it is not a `session` setting that a policy allowing `session` lets through.
        return operation === 'RESET' ? c(operation, 'set', 'role-switch', 'session') : c(operation, 'set', 'role-switch');
      }
      return c(operation, 'set', 'session');
    case 'VariableShowStmt':
      return c('SHOW', 'show', 'session');
    case 'DiscardStmt':
      return c('DISCARD', 'session');
    case 'DoStmt':
      flags.push('do-block');
      return c('DO', 'do', 'procedural', 'write');
    case 'CallStmt':
      flags.push('function-call');
      return c('CALL', 'call', 'procedural', 'write');
    case 'ExecuteStmt':
      return c('EXECUTE', 'execute');
    case 'DeallocateStmt':
      return c('DEALLOCATE', 'session');
    case 'ListenStmt':
      return c('LISTEN', 'notify');
    case 'UnlistenStmt':
      return c('UNLISTEN', 'notify');
    case 'NotifyStmt':
      return c('NOTIFY', 'notify');
    case 'VacuumStmt':
      // libpg-query omits false booleans from its JSON.
      return c(node['is_vacuumcmd'] ? 'VACUUM' : 'ANALYZE', 'maintenance', 'admin');
    case 'ReindexStmt':
      return c('REINDEX', 'maintenance', 'admin');
    case 'ClusterStmt':
      return c('CLUSTER', 'maintenance', 'admin');
    case 'CheckPointStmt':
      return c('CHECKPOINT', 'maintenance', 'admin');
    case 'LockStmt':
      return c('LOCK', 'lock', 'write');
    case 'DeclareCursorStmt':
      return c('DECLARE', 'cursor', 'read');
    case 'FetchStmt':
      return c(node['ismove'] ? 'MOVE' : 'FETCH', 'cursor', 'read');
    case 'ClosePortalStmt':
      return c('CLOSE', 'cursor', 'session'); // releasing a cursor is harmless: psql's FETCH_COUNT ends with it
    case 'CommentStmt':
      return c('COMMENT', 'alter', 'ddl', 'write');
    case 'ExplainStmt':
      return c('EXPLAIN', 'explain', 'read');
    default:
      // Statement families the list above does not name still say what they do by their node
      // type (CreatePolicyStmt, AlterDatabaseSetStmt, DropSubscriptionStmt…): class them as DDL
      // rather than `other`, so a rule about `ddl` cannot be sidestepped by an exotic statement.
      if (type.startsWith('Create')) return c(operationFromNodeType(type), 'create', 'ddl', 'write');
      if (type.startsWith('Alter')) return c(operationFromNodeType(type), 'alter', 'ddl', 'write');
      if (type.startsWith('Drop')) return c(operationFromNodeType(type), 'drop', 'ddl', 'write');
      return c(operationFromNodeType(type), 'other');
  }
}

function transactionOperation(kind: string): string {
  switch (kind) {
    case 'TRANS_STMT_BEGIN':
    case 'TRANS_STMT_START':
      return 'BEGIN';
    case 'TRANS_STMT_COMMIT':
      return 'COMMIT';
    case 'TRANS_STMT_ROLLBACK':
      return 'ROLLBACK';
    case 'TRANS_STMT_SAVEPOINT':
      return 'SAVEPOINT';
    case 'TRANS_STMT_RELEASE':
      return 'RELEASE';
    case 'TRANS_STMT_ROLLBACK_TO':
      return 'ROLLBACK';
    case 'TRANS_STMT_PREPARE':
      return 'PREPARE TRANSACTION';
    case 'TRANS_STMT_COMMIT_PREPARED':
      return 'COMMIT PREPARED';
    case 'TRANS_STMT_ROLLBACK_PREPARED':
      return 'ROLLBACK PREPARED';
    default:
      return 'TRANSACTION';
  }
}
