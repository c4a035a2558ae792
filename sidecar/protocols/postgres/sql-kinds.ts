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
};

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
      return c(node['objtype'] === 'OBJECT_INDEX' ? 'ALTER INDEX' : node['objtype'] === 'OBJECT_VIEW' ? 'ALTER VIEW' : 'ALTER TABLE', 'alter', 'ddl', 'write');
    case 'RenameStmt':
      return c(`ALTER ${OBJECT_NAMES[String(node['renameType'])] ?? 'OBJECT'}`, 'alter', 'ddl', 'write');
    case 'DropStmt':
      return c(`DROP ${OBJECT_NAMES[String(node['removeType'])] ?? 'OBJECT'}`, 'drop', 'ddl', 'write');
    case 'DropdbStmt':
      return c('DROP DATABASE', 'drop', 'ddl', 'write');
    case 'GrantStmt':
      return node['is_grant'] ? c('GRANT', 'grant', 'dcl', 'write') : c('REVOKE', 'revoke', 'dcl', 'write');
    case 'GrantRoleStmt':
      return node['is_grant'] ? c('GRANT', 'grant', 'dcl', 'write') : c('REVOKE', 'revoke', 'dcl', 'write');
    case 'CreateRoleStmt':
      return c('CREATE ROLE', 'role', 'dcl', 'write');
    case 'AlterRoleStmt':
      return c('ALTER ROLE', 'role', 'dcl', 'write');
    case 'DropRoleStmt':
      return c('DROP ROLE', 'role', 'dcl', 'write');
    case 'TransactionStmt':
      return c(transactionOperation(String(node['kind'])), 'transaction');
    case 'VariableSetStmt':
      return c(node['kind'] === 'VAR_RESET' || node['kind'] === 'VAR_RESET_ALL' ? 'RESET' : 'SET', 'set', 'session');
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
      return c(node['is_vacuumcmd'] === false ? 'ANALYZE' : 'VACUUM', 'maintenance', 'admin');
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
      return c('CLOSE', 'cursor');
    case 'CommentStmt':
      return c('COMMENT', 'alter', 'ddl', 'write');
    case 'ExplainStmt':
      return c('EXPLAIN', 'explain', 'read');
    default:
      return c(type.replace(/Stmt$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase(), 'other');
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
