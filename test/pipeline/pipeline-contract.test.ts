// The pipeline's contract, pinned with a fake adapter (line-protocol-adapter.ts) and nothing of
// PostgreSQL: what every protocol gets for free and cannot get wrong. Real pieces around it: the
// policy language, token verification against a real JWKS endpoint, the approval broker over
// HTTP. The audit trail is recorded in memory (the pipeline's view of it is two calls).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parsePolicy, Policy } from '../../policies/index.js';
import type { TargetSpec } from '../../core/vocabulary.js';
import { createLogger } from '../../core/logging/logger.js';
import { TokenVerifier } from '../../core/tokens/index.js';
import { TokenFile } from '../../sidecar/identity/index.js';
import { ClientIdentity } from '../../sidecar/pipeline/client-identity.js';
import { CommandGate } from '../../sidecar/pipeline/command-gate.js';
import { ConnectionSession } from '../../sidecar/pipeline/connection-session.js';
import type { PipelineServices } from '../../sidecar/pipeline/pipeline-services.js';
import { UnauthenticatedSlots } from '../../sidecar/pipeline/unauthenticated-slots.js';
import type { HoldEnd, SidecarMetrics } from '../../sidecar/pipeline/sidecar-metrics.js';
import { ApprovalClient } from '../../sidecar/approvals/index.js';
import { startApprovalBroker, staticAdminApprover, type ApprovalBroker } from '../../broker/index.js';
import type { Attributes, AuditCommand, AuditSession, AuditTrail } from '../../core/audit/index.js';
import { AttributeSet } from '../../core/audit/index.js';
import { startTestIssuer, type TestIssuer } from '../support/token-issuer.js';
import { lineAdapter, type Store } from './line-protocol-adapter.js';

interface RecordedSpan {
  spanId: string;
  name: string;
  parent?: RecordedSpan;
  attributes: Attributes;
  events: string[];
  ended: boolean;
  error?: string;
}

/** The audit trail as the pipeline sees it, recorded. */
class RecordingTrail implements Pick<AuditTrail, 'startSession' | 'healthy'> {
  readonly spans: RecordedSpan[] = [];
  healthy = true;
  startSession(attrs: Attributes, name = 'session'): AuditSession {
    const session = this.span(name, attrs);
    return {
      ...this.handle(session),
      addLink: () => undefined,
      startCommand: (n: string, a: Attributes | AttributeSet) => this.handle(this.span(n, a instanceof AttributeSet ? (a.values as Attributes) : a, session)),
    };
  }
  private span(name: string, attributes: Attributes, parent?: RecordedSpan): RecordedSpan {
    const span: RecordedSpan = { spanId: (this.spans.length + 1).toString(16).padStart(16, '0'), name, parent, attributes: { ...attributes }, events: [], ended: false };
    this.spans.push(span);
    return span;
  }
  private handle(span: RecordedSpan): AuditCommand {
    return {
      traceId: 'a'.repeat(32),
      spanId: span.spanId,
      setAttributes: (a) => void Object.assign(span.attributes, a),
      addEvent: (n) => void span.events.push(n),
      end: (status) => {
        if (span.ended) return;
        span.ended = true;
        span.error = status?.error;
      },
    };
  }
}

/** What the pipeline reports for /metrics, recorded. */
class RecordingMetrics implements SidecarMetrics {
  readonly commands: string[] = [];
  readonly holds: HoldEnd[] = [];
  readonly logins: string[] = [];
  inspections = 0;
  forwards = 0;
  maskedValues = 0;
  upstreamFailures = 0;
  waiting = 0;
  commandDecided(protocol: string, decision: { action: string; rule: string }): void {
    this.commands.push(`${protocol} ${decision.action} ${decision.rule}`);
  }
  inspected(_protocol: string, seconds: number): void {
    assert.ok(seconds >= 0);
    this.inspections++;
  }
  forwarded(_protocol: string, seconds: number): void {
    assert.ok(seconds >= 0);
    this.forwards++;
  }
  holdStarted(): void {
    this.waiting++;
  }
  holdEnded(_protocol: string, end: HoldEnd, seconds: number): void {
    assert.ok(seconds >= 0);
    this.waiting--;
    this.holds.push(end);
  }
  loginRejected(_protocol: string, reason: string): void {
    this.logins.push(reason);
  }
  upstreamFailed(): void {
    this.upstreamFailures++;
  }
  masked(_protocol: string, values: number): void {
    this.maskedValues += values;
  }
}

/** A broken pipeline fails a case instead of hanging the suite. */
const BOUNDED = { timeout: 20_000 };

let issuer: TestIssuer;
let broker: ApprovalBroker;
let dir: string;
const requesterToken = randomBytes(16).toString('hex');

before(async () => {
  issuer = await startTestIssuer();
  broker = await startApprovalBroker({ host: '127.0.0.1', port: 0, adminToken: randomBytes(16).toString('hex'), requesterToken });
  dir = await mkdtemp(join(tmpdir(), 'sidegate-contract-'));
});
after(async () => {
  await broker.close();
  await issuer.close();
});

const POLICY = (jwksUrl: string, iss: string) => `
version: 1
defaults: { action: deny }
identities:
  - { name: ci, issuer: ${iss}, jwksUrl: ${jwksUrl}, audiences: [sidegate], claims: { sub: "ci-*" } }
targets:
  - { name: mem, protocol: http, address: 127.0.0.1:9, credentials: { file: mem } }
rules:
  - { name: reads, identities: [ci], when: { statements: [read] }, action: allow }
  - { name: never-drop, identities: [ci], when: { statements: [drop] }, action: deny, message: no dropping }
  - name: slow-writes
    identities: [ci]
    when: { statements: [update], tables: [slow] }
    action: approve
    approval: { approvers: [dba], timeout: 400ms }
  - name: writes-need-approval
    identities: [ci]
    when: { statements: [update] }
    action: approve
    approval: { approvers: [dba], timeout: 30s }
masking:
  - { name: emails, identities: [ci], columns: [customers.email], strategy: redact }
  - { name: keys, detectors: [aws-access-key], strategy: redact }
`;

const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';

interface Pipeline {
  trail: RecordingTrail;
  metrics: RecordingMetrics;
  /** Every log line, as JSON text. */
  logs: string[];
  store: Store;
  port: number;
  close(): Promise<void>;
}

async function startPipeline(opts: { podToken?: string; authTimeoutMs?: number } = {}): Promise<Pipeline> {
  const policy = new Policy(parsePolicy(POLICY(issuer.jwksUrl, issuer.issuer), 'contract.yaml'));
  let tokenFile: TokenFile | undefined;
  if (opts.podToken) {
    const path = join(dir, `pod-${randomBytes(4).toString('hex')}.token`);
    await writeFile(path, opts.podToken);
    tokenFile = new TokenFile(path);
  }
  const trail = new RecordingTrail();
  const metrics = new RecordingMetrics();
  const logs: string[] = [];
  const services: PipelineServices = {
    metrics,
    gate: new CommandGate(policy, new ApprovalClient({ url: broker.url, token: requesterToken }), () => trail.healthy),
    identity: new ClientIdentity(new TokenVerifier(policy.issuers()), policy, tokenFile),
    credentials: { credentialsFor: async () => ({ username: 'u', password: 'p' }) },
    audit: trail,
    masking: (principal, target) => policy.masking(principal, target),
    log: createLogger({ level: 'info', sink: (line) => logs.push(line) }),
  };
  const store: Store = new Map([
    ['orders', [{ id: '1', note: 'first' }, { id: '2', note: 'second' }]],
    ['slow', [{ id: '1', note: 'slow' }]],
    ['customers', [{ id: '1', email: 'ann@example.com', note: `key ${AWS_KEY}` }]],
  ]);
  const target = policy.targets().find((t) => t.name === 'mem') as TargetSpec;
  const adapter = lineAdapter(store);
  const server = adapter.open(services, { authTimeoutMs: opts.authTimeoutMs ?? 5000, unauthenticated: new UnauthenticatedSlots(8) });
  const listener = net.createServer((socket) => server.serve(socket, target, new ConnectionSession(services, target, adapter.protocol, { address: socket.remoteAddress, port: socket.remotePort })));
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  return {
    trail,
    metrics,
    logs,
    store,
    port: (listener.address() as AddressInfo).port,
    close: () => new Promise((resolve) => listener.close(() => resolve())),
  };
}

/** A client of the line protocol: sends lines, reads lines. */
async function connect(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  await once(socket, 'connect');
  const lines: string[] = [];
  let waiting: (() => void) | undefined;
  let buffered = '';
  let closed = false;
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      lines.push(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
    waiting?.();
  });
  socket.on('close', () => {
    closed = true;
    waiting?.();
  });
  return {
    send: (line: string) => socket.write(line + '\n'),
    /** Lines up to and including the first that starts with one of `ends`. */
    async until(...ends: string[]): Promise<string[]> {
      for (;;) {
        const i = lines.findIndex((l) => ends.some((e) => l.startsWith(e)));
        if (i >= 0) return lines.splice(0, i + 1);
        if (closed) throw new Error(`connection closed before ${ends.join('|')}; got ${JSON.stringify(lines)}`);
        await new Promise<void>((resolve) => (waiting = resolve));
      }
    },
    close: async () => {
      socket.end();
      if (!closed) await once(socket, 'close');
    },
    get closed() {
      return closed;
    },
  };
}

const token = (sub = 'ci-job-1', opts = {}) => issuer.sign({ sub }, opts);

async function login(p: Pipeline, sub = 'ci-job-1') {
  const c = await connect(p.port);
  c.send(`AUTH ${await token(sub)}`);
  assert.deepEqual(await c.until('READY', 'ERR'), ['READY']);
  return c;
}

const commandSpans = (p: Pipeline) => p.trail.spans.filter((s) => s.parent);
const lastCommand = (p: Pipeline) => commandSpans(p).at(-1)!;
async function settled(p: Pipeline): Promise<void> {
  for (let i = 0; i < 100 && p.trail.spans.some((s) => !s.ended); i++) await new Promise((r) => setTimeout(r, 10));
}

/** Waits for the broker to hold a request; returns its id. */
async function pendingApproval(): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const pending = await broker.store.list({ status: 'pending' });
    if (pending.length > 0) return pending[0]!.id;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('no approval request reached the broker');
}

test('allow: the command runs, its span carries identity, decision, rows', BOUNDED, async () => {
  const p = await startPipeline();
  const c = await login(p);
  c.send('Q select orders');
  assert.deepEqual(await c.until('DONE', 'ERR'), ['ROW id=1,note=first', 'ROW id=2,note=second', 'DONE SELECT 2']);
  await c.close();
  await settled(p);
  const span = lastCommand(p);
  assert.equal(span.name, 'SELECT orders');
  assert.equal(span.attributes['sidegate.decision'], 'allow');
  assert.equal(span.attributes['sidegate.rule'], 'reads');
  assert.equal(span.attributes['sidegate.identity.subject'], 'ci-job-1');
  assert.equal(span.attributes['sidegate.rows_returned'], 2);
  assert.equal(span.attributes['line.operation'], 'SELECT', "the adapter's own conventions are on the span");
  assert.equal(span.parent!.attributes['line.system'], 'memory');
  assert.equal(span.parent!.attributes['sidegate.session.end_reason'], 'client closed');
  assert.ok(p.trail.spans.every((s) => s.ended));
  await p.close();
});

test('deny: nothing reaches the target, the client is told the rule, the span says deny', BOUNDED, async () => {
  const p = await startPipeline();
  const c = await login(p);
  c.send('Q drop orders');
  const [reply] = await c.until('ERR', 'DONE');
  assert.match(reply!, /^ERR sidegate: denied by rule "never-drop": no dropping/);
  assert.ok(p.store.has('orders'), 'the table is still there');
  // The connection stays usable.
  c.send('Q select orders');
  assert.equal((await c.until('DONE', 'ERR')).at(-1), 'DONE SELECT 2');
  await c.close();
  await settled(p);
  const denied = commandSpans(p).find((s) => s.name === 'DROP orders')!;
  assert.equal(denied.attributes['sidegate.decision'], 'deny');
  assert.equal(denied.attributes['sidegate.executed'], false);
  assert.match(denied.error!, /never-drop/);
  await p.close();
});

test('approve → approved: the client waits, is told, and the command runs once a human says yes', BOUNDED, async () => {
  const p = await startPipeline();
  const c = await login(p);
  c.send('Q update orders');
  const [notice] = await c.until('NOTICE');
  const id = await pendingApproval();
  assert.match(notice!, new RegExp(`held for approval ${id}`));
  assert.equal(p.store.get('orders')![0]!.note, 'first', 'nothing ran while held');
  const record = await broker.store.get(id);
  assert.equal(record.command, 'update orders', 'the approver sees exactly what will run');
  await broker.store.decide(id, 'approved', staticAdminApprover('dba'));
  assert.equal((await c.until('DONE', 'ERR')).at(-1), 'DONE UPDATE 2');
  assert.equal(p.store.get('orders')![0]!.note, 'updated');
  await c.close();
  await settled(p);
  const span = lastCommand(p);
  assert.equal(span.attributes['sidegate.decision'], 'approved');
  assert.equal(span.attributes['sidegate.approval.id'], id);
  assert.equal(span.attributes['sidegate.approval.status'], 'approved');
  assert.equal(span.attributes['sidegate.rows_affected'], 2);
  assert.ok(typeof span.attributes['sidegate.approval.hash'] === 'string');
  assert.deepEqual(span.events, ['sidegate.hold.start', 'sidegate.hold.end']);
  assert.equal(record.traceparent, `00-${'a'.repeat(32)}-${span.spanId}-01`, "the broker knows the held statement's span");
  await p.close();
});

test('approve → denied by a human: nothing runs, the client gets the denial', BOUNDED, async () => {
  const p = await startPipeline();
  const c = await login(p);
  c.send('Q update orders');
  await c.until('NOTICE');
  const id = await pendingApproval();
  await broker.store.decide(id, 'denied', staticAdminApprover('dba'), 'not today');
  const [reply] = await c.until('ERR', 'DONE');
  assert.match(reply!, /was denied by dba: not today/);
  assert.equal(p.store.get('orders')![0]!.note, 'first');
  await c.close();
  await settled(p);
  assert.equal(lastCommand(p).attributes['sidegate.decision'], 'deny');
  assert.equal(lastCommand(p).attributes['sidegate.approval.status'], 'denied');
  await p.close();
});

test('approve → timed out: nothing runs, the client is told it timed out', BOUNDED, async () => {
  const p = await startPipeline();
  const c = await login(p);
  c.send('Q update slow');
  await c.until('NOTICE');
  const [reply] = await c.until('ERR', 'DONE');
  assert.match(reply!, /timed out without a decision/);
  assert.equal(p.store.get('slow')![0]!.note, 'slow');
  await c.close();
  await settled(p);
  assert.equal(lastCommand(p).attributes['sidegate.approval.status'], 'expired');
  assert.equal(lastCommand(p).attributes['sidegate.executed'], false);
  await p.close();
});

test('approve → cancelled by the client: the request is cancelled at the broker, nothing runs', BOUNDED, async () => {
  const p = await startPipeline();
  const c = await login(p);
  c.send('Q update orders');
  await c.until('NOTICE');
  const id = await pendingApproval();
  c.send('CANCEL');
  const [reply] = await c.until('ERR', 'DONE');
  assert.match(reply!, new RegExp(`canceled while waiting for approval ${id}`));
  assert.equal((await broker.store.get(id)).status, 'cancelled');
  // An approval arriving now is too late: the request is final.
  await assert.rejects(broker.store.decide(id, 'approved', staticAdminApprover('dba')));
  assert.equal(p.store.get('orders')![0]!.note, 'first');
  await c.close();
  await settled(p);
  assert.equal(lastCommand(p).attributes['sidegate.hold.canceled'], true);
  await p.close();
});

test('a client that goes away while held: the request is cancelled, the span ends as not executed', BOUNDED, async () => {
  const p = await startPipeline();
  const c = await login(p);
  c.send('Q update orders');
  await c.until('NOTICE');
  const id = await pendingApproval();
  await c.close();
  for (let i = 0; i < 200 && (await broker.store.get(id)).status === 'pending'; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal((await broker.store.get(id)).status, 'cancelled');
  await settled(p);
  const span = lastCommand(p);
  assert.equal(span.attributes['sidegate.executed'], false);
  assert.match(span.error!, /connection closed: client closed/);
  assert.ok(p.trail.spans.every((s) => s.ended), 'the session closed with every span ended');
  assert.equal(p.store.get('orders')![0]!.note, 'first');
  await p.close();
});

test('audit trail unhealthy: every command is denied (fail closed), the target is unchanged', BOUNDED, async () => {
  const p = await startPipeline();
  const c = await login(p);
  p.trail.healthy = false;
  c.send('Q select orders');
  const [reply] = await c.until('ERR', 'DONE');
  assert.match(reply!, /denied by rule "audit-unavailable"/);
  c.send('Q update orders');
  assert.match((await c.until('ERR', 'DONE'))[0]!, /audit-unavailable/);
  assert.equal(p.store.get('orders')![0]!.note, 'first');
  await c.close();
  await p.close();
});

test('attacker: the audit trail fails while a command is held; the approval that follows runs nothing', BOUNDED, async () => {
  const p = await startPipeline();
  const c = await login(p);
  c.send('Q update orders');
  await c.until('NOTICE');
  const id = await pendingApproval();
  // Decided while the audit was healthy; the spool stops accepting records during the wait.
  p.trail.healthy = false;
  await broker.store.decide(id, 'approved', staticAdminApprover('dba'));
  const reply = (await c.until('DONE', 'ERR')).at(-1)!;
  assert.match(reply, /^ERR .*audit-unavailable/);
  assert.equal(p.store.get('orders')![0]!.note, 'first', 'the approved command ran without an audit trail');
  await c.close();
  await settled(p);
  const span = lastCommand(p);
  assert.equal(span.attributes['sidegate.decision'], 'deny');
  assert.equal(span.attributes['sidegate.rule'], 'audit-unavailable');
  p.trail.healthy = true;
  await p.close();
});

test('identity rejected: a bad, expired or foreign token never reaches a session, and is audited', BOUNDED, async () => {
  const p = await startPipeline();
  const stranger = await startTestIssuer();
  const foreign = await stranger.sign({ sub: 'ci-job-1' });
  await stranger.close();
  for (const presented of ['not-a-jwt', await token('ci-job-1', { expiresIn: -120 }), foreign]) {
    const c = await connect(p.port);
    c.send(`AUTH ${presented}`);
    const [reply] = await c.until('ERR', 'READY');
    assert.match(reply!, /^ERR sidegate: /);
    assert.doesNotMatch(reply!, /eyJ/, 'the token is never echoed');
    await c.close();
  }
  await settled(p);
  const refusals = p.trail.spans.filter((s) => !s.parent && s.attributes['sidegate.decision'] === 'deny');
  assert.equal(refusals.length, 3, 'each refused login is audited');
  for (const r of refusals) assert.equal(r.attributes['sidegate.rule'], 'identity');
  // error.type names why (the rejection's code), as the semantic conventions ask of a failed operation.
  for (const r of refusals) assert.ok(typeof r.attributes['error.type'] === 'string' && r.attributes['error.type'] !== '', JSON.stringify(r.attributes));
  assert.ok(p.trail.spans.every((s) => JSON.stringify(s).indexOf('eyJ') < 0), 'no token in the audit trail');
  await p.close();
});

test("no token presented: the pod's own identity applies", BOUNDED, async () => {
  const p = await startPipeline({ podToken: await token('ci-pod-7') });
  const c = await connect(p.port);
  c.send('AUTH ');
  assert.deepEqual(await c.until('READY', 'ERR'), ['READY']);
  c.send('Q select orders');
  await c.until('DONE', 'ERR');
  await c.close();
  await settled(p);
  assert.equal(lastCommand(p).attributes['sidegate.identity.subject'], 'ci-pod-7');
  await p.close();
});

test('a client that never authenticates is closed at the deadline', BOUNDED, async () => {
  const p = await startPipeline({ authTimeoutMs: 200 });
  const c = await connect(p.port);
  const [reply] = await c.until('ERR');
  assert.match(reply!, /authentication timed out/);
  for (let i = 0; i < 100 && !c.closed; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(c.closed);
  await p.close();
});

test('masking: every value channel the adapter declares passes the session masker', BOUNDED, async () => {
  const p = await startPipeline();
  const c = await login(p);
  c.send('Q select customers');
  const rows = await c.until('DONE', 'ERR');
  assert.equal(rows.length, 2);
  assert.match(rows[0]!, /^ROW id=1,email=\S+,note=key \S+$/);
  assert.doesNotMatch(rows.join('\n'), /ann@example\.com/);
  assert.doesNotMatch(rows.join('\n'), new RegExp(AWS_KEY));
  // The error channel: the store's error echoes data it holds, a key among it.
  c.send('Q select ghost');
  const [error] = await c.until('ERR', 'DONE');
  assert.match(error!, /^ERR no table "ghost"/);
  assert.doesNotMatch(error!, new RegExp(AWS_KEY));
  await c.close();
  await settled(p);
  const select = commandSpans(p).find((s) => s.name === 'SELECT customers')!;
  assert.equal(select.attributes['sidegate.masked_count'], 2);
  const failed = lastCommand(p);
  assert.equal(failed.attributes['sidegate.masked_count'], 1);
  assert.doesNotMatch(failed.error!, new RegExp(AWS_KEY));
  await p.close();
});

test('security events are log lines, and no token is ever in one', BOUNDED, async () => {
  const p = await startPipeline();
  const presented = await token('ci-job-1', { expiresIn: -120 });
  const refused = await connect(p.port);
  refused.send(`AUTH ${presented}`);
  await refused.until('ERR');
  await refused.close();
  const c = await login(p);
  c.send('Q drop orders');
  await c.until('ERR');
  c.send('Q update orders');
  await c.until('NOTICE');
  await broker.store.decide(await pendingApproval(), 'denied', staticAdminApprover('dba'));
  await c.until('ERR');
  await c.close();
  const text = p.logs.join('\n');
  const events = p.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
  const has = (event: string, fields: Record<string, unknown> = {}) =>
    assert.ok(events.some((e) => e['event'] === event && Object.entries(fields).every(([k, v]) => e[k] === v)), `a ${event} line with ${JSON.stringify(fields)}`);
  has('login.rejected', { msg: 'login rejected' });
  has('command.denied', { rule: 'never-drop' });
  has('command.held');
  has('approval.denied', { approver: 'dba' });
  assert.doesNotMatch(text, /eyJ/, 'no token in the log');
  await p.close();
});

test('metrics: every decision, hold end, refused login, masked value and forwarded command is reported', BOUNDED, async () => {
  const p = await startPipeline();
  const refused = await connect(p.port);
  refused.send('AUTH not-a-jwt');
  await refused.until('ERR');
  await refused.close();
  const expired = await connect(p.port);
  expired.send(`AUTH ${await token('ci-job-1', { expiresIn: -120 })}`);
  await expired.until('ERR');
  await expired.close();
  const c = await login(p);
  c.send('Q select customers');
  await c.until('DONE', 'ERR');
  c.send('Q drop orders');
  await c.until('ERR');
  c.send('Q update orders');
  await c.until('NOTICE');
  c.send('CANCEL');
  await c.until('ERR', 'DONE');
  c.send('Q update orders');
  await c.until('NOTICE');
  await c.close();
  for (let i = 0; i < 200 && p.metrics.holds.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  await settled(p);
  const m = p.metrics;
  assert.deepEqual(m.commands, ['http allow reads', 'http deny never-drop', 'http approve writes-need-approval', 'http approve writes-need-approval']);
  assert.deepEqual(m.holds, ['client-cancelled', 'abandoned']);
  assert.equal(m.waiting, 0, 'every hold that started ended');
  assert.deepEqual(m.logins, ['not-a-token', 'expired']);
  assert.equal(m.inspections, 4);
  assert.equal(m.forwards, 1, 'only the select reached the target');
  assert.equal(m.maskedValues, 2);
  assert.equal(m.upstreamFailures, 0);
  await p.close();
});
