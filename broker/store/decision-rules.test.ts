import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeVote, maySee, superApprovers, type CastVote, type VotedRequest } from './decision-rules.js';
import type { VerifiedApprover } from '../api/parties.js';

const IDP = 'https://idp.example';
const who = (name: string, groups: string[] = [], issuer = IDP): VerifiedApprover => ({ issuer, subject: `sub-${name}`, name, groups });
const vote = (name: string, verdict: CastVote['verdict'] = 'approved'): CastVote => ({ verdict, approver: { issuer: IDP, subject: `sub-${name}` } });

const request = (over: Partial<VotedRequest> & { approvers?: string[]; groups?: string[]; threshold?: number } = {}): VotedRequest => ({
  rule: 'deletes-need-approval',
  requirement: { approvers: over.approvers ?? ['alice'], groups: over.groups ?? [], threshold: over.threshold ?? 1 },
  requester: over.requester ?? { issuer: 'https://token.actions.githubusercontent.com', subject: 'repo:acme/api:ref:refs/heads/main', identities: ['ci-bot'], ci: { actor: 'Mallory' } },
  votes: over.votes ?? [],
});
const none = superApprovers([]);

test('a listed approver decides with one vote at threshold 1; approve and deny are both final', () => {
  assert.deepEqual(judgeVote(request(), who('alice'), 'approved', none), { accepted: true, final: 'approved' });
  assert.deepEqual(judgeVote(request(), who('alice'), 'denied', none), { accepted: true, final: 'denied' });
});

test('eligibility: by name, by group, as a super-approver; nobody listed lets any approver', () => {
  const r = request({ approvers: ['alice'], groups: ['dba'] });
  assert.equal(judgeVote(r, who('bob', ['dba']), 'approved', none).accepted, true, 'in a listed group');
  const carol = judgeVote(r, who('carol', ['dev']), 'approved', none);
  assert.deepEqual(carol, { accepted: false, status: 403, message: '"carol" is not an approver for rule "deletes-need-approval" (approvers: alice; groups: dba)' });
  assert.equal(judgeVote(r, who('carol'), 'approved', superApprovers(['carol'])).accepted, true, 'super-approver');
  assert.equal(judgeVote(request({ approvers: [], groups: [] }), who('anyone'), 'denied', none).accepted, true);
  assert.equal(judgeVote(request({ approvers: [], groups: ['sre'] }), who('anyone'), 'approved', none).accepted, false, 'groups alone still restrict');
});

test('threshold 2 needs two distinct approvers; the first approval is counted, not final', () => {
  const r = request({ approvers: ['alice', 'bob', 'carol'], threshold: 2 });
  assert.deepEqual(judgeVote(r, who('alice'), 'approved', none), { accepted: true });
  const after = { ...r, votes: [vote('alice')] };
  assert.deepEqual(judgeVote(after, who('bob'), 'approved', none), { accepted: true, final: 'approved' });
  const twice = judgeVote(after, who('alice'), 'approved', none);
  assert.deepEqual([twice.accepted, !twice.accepted && twice.status], [false, 409]);
  assert.deepEqual(judgeVote(after, who('carol'), 'denied', none), { accepted: true, final: 'denied' }, 'one deny denies after approvals');
});

test('a vote is per issuer+subject: the same name from another issuer is another approver, the same subject is not', () => {
  const r = request({ approvers: ['alice'], threshold: 2, votes: [vote('alice')] });
  const sameSubject = judgeVote(r, { ...who('alice-renamed'), subject: 'sub-alice' }, 'approved', superApprovers(['alice-renamed']));
  assert.deepEqual([sameSubject.accepted, !sameSubject.accepted && sameSubject.status], [false, 409]);
  assert.deepEqual(judgeVote(r, who('alice', [], 'https://other-idp.example'), 'approved', none), { accepted: true, final: 'approved' });
});

test('the requester never decides: same issuer+subject, its CI actor (any case), one of its identities — even as super-approver', () => {
  const r = request({ approvers: [], groups: [] });
  const supers = superApprovers(['mallory', 'ci-bot', 'x']);
  const self = judgeVote(r, { issuer: r.requester.issuer, subject: r.requester.subject, name: 'x', groups: [] }, 'approved', supers);
  assert.deepEqual(self, { accepted: false, status: 403, message: '"x" cannot decide this request: it is the requester' });
  const actor = judgeVote(r, who('mallory'), 'approved', supers);
  assert.deepEqual(actor, { accepted: false, status: 403, message: '"mallory" cannot decide this request: it is the CI actor who started the run' });
  const identity = judgeVote(r, who('CI-Bot'), 'denied', supers);
  assert.deepEqual(identity, { accepted: false, status: 403, message: `"CI-Bot" cannot decide this request: it is one of the requester's identities` });
  assert.equal(judgeVote(r, who('alice'), 'approved', supers).accepted, true, 'someone else may');
});

test('a super-approver named by identity is that identity only: the same name from elsewhere is nobody special', () => {
  const r = request({ approvers: ['dba'], groups: [] });
  const boss = superApprovers([{ issuer: 'https://idp.example', subject: 'sub-boss' }]);
  assert.equal(judgeVote(r, { ...who('boss'), subject: 'sub-boss' }, 'approved', boss).accepted, true);
  const impostor = judgeVote(r, { ...who('boss', [], 'https://other-idp.example'), subject: 'sub-boss' }, 'approved', boss);
  assert.deepEqual(impostor.accepted, false, 'same subject at another issuer');
  assert.equal(judgeVote(r, { ...who('boss'), subject: 'sub-mallory' }, 'approved', boss).accepted, false, 'same name, another subject');
});

test("an issuer's username prefix never hides the CI actor or the requester's names: the bare claim is compared too", () => {
  const prefixes = { [IDP]: 'corp:' };
  const r = request({ approvers: ['corp:mallory', 'corp:ci-bot'] });
  const actor = judgeVote(r, who('corp:mallory'), 'approved', none, prefixes);
  assert.deepEqual(actor, { accepted: false, status: 403, message: '"corp:mallory" cannot decide this request: it is the CI actor who started the run' });
  const identity = judgeVote(r, who('corp:CI-BOT'), 'approved', none, prefixes);
  assert.equal(!identity.accepted && identity.message, `"corp:CI-BOT" cannot decide this request: it is one of the requester's identities`);
  // Without knowing the prefix the bare claim is not recovered: the broker passes its issuers' prefixes.
  assert.equal(judgeVote(r, who('corp:mallory'), 'approved', none).accepted, true);
  // Another issuer's prefix is not stripped from this issuer's names.
  assert.equal(judgeVote(request({ approvers: ['corp:mallory'] }), who('corp:mallory', [], 'https://other.example'), 'approved', none, prefixes).accepted, true);
});

test('who may see a request is who may decide it by the rule; the actor is not let in for being the actor', () => {
  const requirement = { approvers: ['alice'], groups: ['dba'], threshold: 1 };
  assert.equal(maySee(requirement, who('alice'), none), true);
  assert.equal(maySee(requirement, who('bob', ['dba']), none), true);
  assert.equal(maySee(requirement, who('carol', ['dev']), none), false);
  assert.equal(maySee(requirement, who('Mallory'), none), false, 'the actor, named nowhere');
  assert.equal(maySee(requirement, who('boss'), superApprovers(['boss'])), true);
  assert.equal(maySee({ approvers: [], groups: [], threshold: 1 }, who('anyone'), none), true);
});
