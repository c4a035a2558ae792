import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandGate, denialMessage, holdHeartbeat, holdNotice, type ApprovalHolder, type HoldResult, type PolicyDecider } from './command-gate.js';
import type { CommandFacts, Decision, Principal } from '../../core/vocabulary.js';
import { heldCommand } from './held-command.js';

const principal: Principal = { issuer: 'https://issuer', subject: 'ci', claims: {}, identities: ['ci'] };
const facts = (operation: string): CommandFacts => ({
  protocol: 'postgres', target: 'db', text: operation, operation, kinds: [operation.toLowerCase()], tables: [], flags: [],
});

/** A decider that maps operations to actions; the gate must take the most restrictive it is given. */
const decider = (actions: Record<string, Decision['action']>): PolicyDecider => ({
  decideAll(_p, fs) {
    const per = fs.map((f) => ({ action: actions[f.operation] ?? 'deny', rule: `r-${f.operation}`, reason: 'test', approvers: ['dba'], timeoutMs: 1000 }) as Decision);
    const rank = { deny: 2, approve: 1, allow: 0 } as const;
    const decision = per.reduce((a, b) => (rank[b.action] > rank[a.action] ? b : a));
    return { decision, per };
  },
});

const holder = (result: HoldResult, seen: unknown[] = []): ApprovalHolder => ({
  async hold(req, opts) {
    seen.push(req);
    opts.onCreated?.(result.id);
    return result;
  },
});

test('an unhealthy audit trail denies everything (audit records are evidence)', () => {
  let healthy = false;
  const gate = new CommandGate(decider({ SELECT: 'allow' }), null, () => healthy);
  assert.equal(gate.decide(principal, [facts('SELECT')]).action, 'deny');
  assert.equal(gate.decide(principal, [facts('SELECT')]).rule, 'audit-unavailable');
  healthy = true;
  assert.equal(gate.decide(principal, [facts('SELECT')]).action, 'allow');
});

test("recheck: an earlier decision stands while the audit trail is healthy, and denies once it is not", () => {
  let healthy = true;
  const gate = new CommandGate(decider({ SELECT: 'allow', UPDATE: 'approve' }), null, () => healthy);
  const allowed = gate.decide(principal, [facts('SELECT')]);
  const held = gate.decide(principal, [facts('UPDATE')]);
  assert.equal(gate.recheck(allowed), allowed);
  assert.equal(gate.recheck(held).action, 'approve');
  healthy = false;
  assert.deepEqual([gate.recheck(allowed).action, gate.recheck(allowed).rule], ['deny', 'audit-unavailable']);
  assert.equal(gate.recheck(held).rule, 'audit-unavailable');
});

const held = (sql: string) => heldCommand({ sessionId: 's1', target: 'db', sql: Buffer.from(sql) });

test('hold: approved releases, anything else denies with a message naming the approval and rule', async () => {
  const decision: Decision = { action: 'approve', rule: 'writes-need-approval', reason: 'x', approvers: ['dba'], timeoutMs: 1000 };
  const session = { id: 's1', principal, target: 'db', protocol: 'postgres' };
  const seen: unknown[] = [];
  const approved = await new CommandGate(decider({}), holder({ id: 'apr-1', status: 'approved', approver: 'alice', hash: held("UPDATE t SET a = 'x'").hash }, seen)).hold(session, decision, held("UPDATE t SET a = 'x'"));
  assert.equal(approved.verdict, 'allow');
  assert.equal((seen[0] as { command: string }).command, "UPDATE t SET a = 'x'");
  assert.equal((seen[0] as { hash: string }).hash, held("UPDATE t SET a = 'x'").hash);
  for (const status of ['denied', 'expired', 'cancelled', 'unavailable'] as const) {
    const out = await new CommandGate(decider({}), holder({ id: 'apr-2', status, approver: 'bob' })).hold(session, decision, held('UPDATE t'));
    assert.equal(out.verdict, 'deny', status);
    assert.match(out.verdict === 'deny' ? out.message : '', /writes-need-approval/);
    if (status !== 'unavailable') assert.match(out.verdict === 'deny' ? out.message : '', /apr-2/);
  }
  const noBroker = await new CommandGate(decider({}), null).hold(session, decision, held('UPDATE t'));
  assert.equal(noBroker.verdict, 'deny');
});

test('hold: the waiting client hears a heartbeat until the decision, and none after', async () => {
  const decision: Decision = { action: 'approve', rule: 'r', reason: 'x', timeoutMs: 1000 };
  const session = { id: 's1', principal, target: 'db', protocol: 'postgres' };
  const slow: ApprovalHolder = {
    async hold(_req, opts) {
      opts.onCreated?.('apr-7');
      await new Promise((r) => setTimeout(r, 130));
      return { id: 'apr-7', status: 'denied' };
    },
  };
  const beats: { id: string; waitedMs: number }[] = [];
  await new CommandGate(decider({}), slow, () => true, 25).hold(session, decision, held('UPDATE t'), { onWaiting: (id, waitedMs) => beats.push({ id, waitedMs }) });
  assert.ok(beats.length >= 3, `heartbeats: ${beats.length}`);
  assert.ok(beats.every((b) => b.id === 'apr-7'));
  assert.ok(beats.every((b, i) => i === 0 || b.waitedMs > beats[i - 1]!.waitedMs), 'time waited grows');
  const after = beats.length;
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(beats.length, after, 'no heartbeat after the decision');
  assert.equal(holdHeartbeat('apr-7', 185_000), 'sidegate: still waiting for approval apr-7 (3m 5s so far)');
  assert.match(holdNotice(decision, 'apr-7', 'https://approvals.example/approvals/apr-7'), /held for approval apr-7 \(rule "r"\); waiting for a decision at https:\/\/approvals\.example\/approvals\/apr-7$/);
});

test('denial messages name the rule', () => {
  assert.equal(
    denialMessage({ action: 'deny', rule: 'no-ddl', reason: 'DDL is not allowed from CI' }),
    'sidegate: denied by rule "no-ddl": DDL is not allowed from CI',
  );
  assert.match(denialMessage({ action: 'approve', rule: 'r', reason: 'x' }, { id: 'apr-9', status: 'expired' }), /apr-9.*timed out/);
});

test('hold: an approval bound to another statement or other parameters is a denial', async () => {
  const decision: Decision = { action: 'approve', rule: 'writes-need-approval', reason: 'x', approvers: ['dba'], timeoutMs: 1000 };
  const session = { id: 's1', principal, target: 'db', protocol: 'postgres' };
  const other = held('DELETE FROM orders WHERE id = 1').hash;
  for (const hash of [other, undefined]) {
    const out = await new CommandGate(decider({}), holder({ id: 'apr-3', status: 'approved', approver: 'alice', hash })).hold(session, decision, held('DELETE FROM orders'));
    assert.equal(out.verdict, 'deny');
    assert.equal(out.approval?.status, 'mismatched');
    assert.match(out.verdict === 'deny' ? out.message : '', /apr-3.*not for this statement/);
  }
});
