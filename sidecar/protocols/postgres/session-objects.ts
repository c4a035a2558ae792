// What a statement does to the server-side names of its session that the extended protocol also
// uses: cursors are portals (DECLARE creates one, FETCH/MOVE run one, CLOSE drops it), and SQL
// PREPARE/EXECUTE/DEALLOCATE/DISCARD create, run and drop prepared statements. The session needs
// the names to attribute a FETCH to the statement that created its cursor and an EXECUTE to the
// statement it runs. Only these few, rare statements are parsed again (the inspection does not
// keep names); the answer is kept per inspected statement.
import { parseSync } from './sql-grammar.js';
import type { InspectedStatement } from './sql-inspector.js';
import type { Decision } from '../../../core/vocabulary.js';
import { UNCERTAIN, type Lookup } from './server-names.js';

export type SessionObjectOp =
  | { op: 'declare'; name: string; hold: boolean }
  | { op: 'fetch'; name: string }
  | { op: 'close'; name: string | null }
  | { op: 'deallocate'; name: string | null }
  | { op: 'discard-all' }
  | { op: 'prepare'; name: string }
  /** EXECUTE name, also inside EXPLAIN ANALYZE or CREATE TABLE AS. */
  | { op: 'execute'; name: string };

const OPERATIONS: ReadonlySet<string> = new Set(['DECLARE', 'FETCH', 'MOVE', 'CLOSE', 'DEALLOCATE', 'DISCARD', 'PREPARE', 'EXECUTE', 'CREATE TABLE AS']);
/** DeclareCursorStmt.options bit for WITH HOLD (CURSOR_OPT_HOLD in PostgreSQL's parsenodes.h). */
const CURSOR_OPT_HOLD = 0x0020;

const known = new WeakMap<InspectedStatement, SessionObjectOp | null>();

/** The cheap test every statement passes through: its operation names one of these statements. */
export function mayTouchSessionObjects(s: InspectedStatement): boolean {
  // `execute` among the kinds: an EXECUTE nested in a statement that runs it (EXPLAIN ANALYZE, CREATE TABLE AS).
  return OPERATIONS.has(s.facts.operation) || s.facts.kinds.includes('execute');
}

/**
 * The session object `s` changes or runs, or null. A statement that claims such an operation but
 * cannot be read again gives `unreadable`: the caller refuses it (it cannot attribute it).
 */
export function sessionObjectOp(s: InspectedStatement): SessionObjectOp | null | 'unreadable' {
  if (!mayTouchSessionObjects(s)) return null;
  const cached = known.get(s);
  if (cached !== undefined) return cached;
  let op: SessionObjectOp | null;
  try {
    op = opOfTree(parseSync(s.text) as { stmts?: { stmt?: Record<string, unknown> }[] });
  } catch {
    return 'unreadable';
  }
  known.set(s, op);
  return op;
}

function opOfTree(tree: { stmts?: { stmt?: Record<string, unknown> }[] }): SessionObjectOp | null {
  const stmt = tree.stmts?.[0]?.stmt;
  if (!stmt) return null;
  const [type, raw] = Object.entries(stmt)[0] ?? [];
  const node = (raw ?? {}) as Record<string, unknown>;
  switch (type) {
    case 'DeclareCursorStmt':
      return { op: 'declare', name: String(node['portalname'] ?? ''), hold: (Number(node['options'] ?? 0) & CURSOR_OPT_HOLD) !== 0 };
    case 'FetchStmt':
      return { op: 'fetch', name: String(node['portalname'] ?? '') };
    case 'ClosePortalStmt':
      return { op: 'close', name: typeof node['portalname'] === 'string' ? node['portalname'] : null };
    case 'DeallocateStmt':
      return { op: 'deallocate', name: typeof node['name'] === 'string' && node['isall'] !== true ? node['name'] : null };
    case 'DiscardStmt':
      return node['target'] === 'DISCARD_ALL' ? { op: 'discard-all' } : null;
    case 'PrepareStmt':
      return { op: 'prepare', name: String(node['name'] ?? '') };
    default: {
      const name = nestedExecute(type, node, 0);
      return name === null ? null : { op: 'execute', name };
    }
  }
}

/** The prepared statement an EXECUTE runs, directly or inside statements that run their query. */
function nestedExecute(type: string | undefined, node: Record<string, unknown>, depth: number): string | null {
  if (type === 'ExecuteStmt') return String(node['name'] ?? '');
  if (depth > 4 || (type !== 'ExplainStmt' && type !== 'CreateTableAsStmt')) return null;
  const query = node['query'];
  if (query === null || typeof query !== 'object') return null;
  const [inner, raw] = Object.entries(query as Record<string, unknown>)[0] ?? [];
  return nestedExecute(inner, (raw ?? {}) as Record<string, unknown>, depth + 1);
}

// ───────────── deciding a command that runs cursors ─────────────

/** A prepared statement as far as deciding an SQL EXECUTE of it goes. */
export interface NamedStatement {
  inspected: InspectedStatement[];
  decision: Decision;
}

/** A portal (cursor) as far as deciding a FETCH on it goes. */
export interface CursorPortal {
  /** The statement it runs; absent when sidegate did not decide it. */
  statement?: { inspected: InspectedStatement[]; decision: Decision };
  /** A human approved running it (or its creating statement) already. */
  cleared?: boolean;
}

export interface SessionObjectPlan<P> {
  /** The command's decision made at least as strict as that of every cursor it runs. */
  decision: Decision;
  /** What else an approval of this command lets run: the statements of the cursors and prepared statements it runs that need one. */
  also: { statement: NamedStatement; portal?: P }[];
  /** Portals an approval of this command clears. */
  clears: P[];
  /** Per statement of the command, what it changes once it completes. */
  ops: (SessionObjectOp | null)[];
}

const RANK = { allow: 0, approve: 1, deny: 2 } as const;

function stricter(a: Decision, b: Decision): Decision {
  return RANK[b.action] > RANK[a.action] ? b : a;
}

/** The refusal of a FETCH/MOVE (or Execute) on a portal no decided statement stands behind. */
export function unattributedPortal(name: string, what: 'cursor' | 'portal' | 'statement'): Decision {
  return {
    action: 'deny',
    rule: `unattributed-${what}`,
    reason: `${what} "${name}" was not created by a statement sidegate decided (unknown, denied, closed or ended with its transaction)`,
  };
}

/**
 * A cursor inherits the decision of the statement that created it: a FETCH or MOVE is decided as
 * strictly as its own statement and the cursor's (denied if that was denied, held if it needs an
 * approval nobody gave yet), and refused on a cursor sidegate cannot attribute. Likewise an SQL
 * EXECUTE is decided as strictly as the prepared statement it runs (held at every run when that
 * needs approval, as an Execute of it is). Null when the command touches no session object (the
 * common case: a Set lookup per statement); UNCERTAIN when a cursor or statement it runs may be
 * changed by an unanswered earlier batch.
 */
export function planSessionObjects<P extends CursorPortal, S extends NamedStatement>(
  inspected: InspectedStatement[],
  decision: Decision,
  lookup: (name: string) => Lookup<P>,
  lookupStatement: (name: string) => Lookup<S>,
): SessionObjectPlan<P> | null | typeof UNCERTAIN {
  let plan: SessionObjectPlan<P> | null = null;
  // Cursors this command itself declares (true) or closes (false) before a FETCH of them.
  let own: Map<string, boolean> | undefined;
  let closedAll = false;
  // Prepared statements this command itself prepares (true) or deallocates (false).
  let ownStatements: Map<string, boolean> | undefined;
  let deallocatedAll = false;
  for (let i = 0; i < inspected.length; i++) {
    const s = inspected[i]!;
    if (!mayTouchSessionObjects(s)) continue;
    plan ??= { decision, also: [], clears: [], ops: new Array<SessionObjectOp | null>(inspected.length).fill(null) };
    const op = sessionObjectOp(s);
    if (op === 'unreadable') {
      plan.decision = stricter(plan.decision, unattributedPortal('?', 'cursor'));
      continue;
    }
    plan.ops[i] = op;
    if (op === null) continue;
    if (op.op === 'prepare') (ownStatements ??= new Map()).set(op.name, true);
    else if (op.op === 'deallocate' || op.op === 'discard-all') {
      if (op.op === 'deallocate' && op.name !== null) (ownStatements ??= new Map()).set(op.name, false);
      else {
        deallocatedAll = true;
        ownStatements?.clear();
        if (op.op === 'discard-all') {
          closedAll = true;
          own?.clear();
        }
      }
    } else if (op.op === 'execute') {
      const mine = ownStatements?.get(op.name);
      if (mine === true) continue;
      const statement = mine === false || deallocatedAll ? undefined : lookupStatement(op.name);
      if (statement === UNCERTAIN) return UNCERTAIN;
      if (!statement) plan.decision = stricter(plan.decision, unattributedPortal(op.name, 'statement'));
      else if (statement.decision.action !== 'allow') {
        plan.decision = stricter(plan.decision, statement.decision);
        if (statement.decision.action === 'approve') plan.also.push({ statement });
      }
    } else if (op.op === 'declare') (own ??= new Map()).set(op.name, true);
    else if (op.op === 'close') {
      if (op.name === null) {
        closedAll = true;
        own?.clear();
      } else (own ??= new Map()).set(op.name, false);
    } else if (op.op === 'fetch') {
      const mine = own?.get(op.name);
      // Declared by this very command: it runs under this command's own decision.
      if (mine === true) continue;
      const portal = mine === false || closedAll ? undefined : lookup(op.name);
      if (portal === UNCERTAIN) return UNCERTAIN;
      const created = portal?.statement;
      if (!portal || !created) {
        plan.decision = stricter(plan.decision, unattributedPortal(op.name, 'cursor'));
      } else if (created.decision.action === 'deny') {
        plan.decision = stricter(plan.decision, created.decision);
      } else if (created.decision.action === 'approve' && !portal.cleared) {
        plan.decision = stricter(plan.decision, created.decision);
        plan.clears.push(portal);
        plan.also.push({ statement: created, portal });
      }
    }
  }
  return plan;
}

const unattributedTemplates = new Map<string, InspectedStatement>();

/** What the audit records for an Execute refused because no decided statement stands behind it. */
export function unattributedExecute(target: string): InspectedStatement {
  let s = unattributedTemplates.get(target);
  if (!s) {
    const text = 'EXECUTE portal';
    s = Object.freeze({
      facts: Object.freeze({ protocol: 'postgres', target, text, operation: 'EXECUTE', kinds: Object.freeze(['unattributed']), tables: Object.freeze([]), flags: Object.freeze(['prepared']) }),
      text,
      queryText: text,
    }) as InspectedStatement;
    if (unattributedTemplates.size >= 64) unattributedTemplates.clear();
    unattributedTemplates.set(target, s);
  }
  return s;
}
