// A fake protocol adapter for the pipeline's contract tests: the smallest wire an adapter could
// have, so the tests pin what the pipeline does (identity, decisions, holds, evidence, masking)
// and nothing of PostgreSQL. One line per message:
//
//   client → AUTH <token>          (empty: the pod's own identity)
//            Q <verb> <table>      select / update / drop on an in-memory table
//            CANCEL                cancel the command waiting for approval
//   server → READY | NOTICE <text> | ROW <col>=<value>,… | DONE <tag> | ERR <text>
//
// Its "target" is an in-memory store of tables, so a test can see that a denied command changed
// nothing. It declares two value channels back to the client, both masked through the session:
// row values (per column) and error texts (the store echoes the command in its errors).
import type { Socket } from 'node:net';
import type { CommandFacts, TargetSpec } from '../../core/vocabulary.js';
import type { ConnectionSession } from '../../sidecar/pipeline/connection-session.js';
import type { CommandRun, RunStatement } from '../../sidecar/pipeline/command-runs.js';
import type { ProtocolAdapter } from '../../sidecar/pipeline/protocol-adapter.js';
import type { AdapterSettings, PipelineServices } from '../../sidecar/pipeline/pipeline-services.js';
import { PreAuthBounds } from '../../sidecar/pipeline/pre-auth-bounds.js';
import { IdentityRejected } from '../../sidecar/pipeline/client-identity.js';
import { denialMessage } from '../../sidecar/pipeline/command-gate.js';

export type Row = Record<string, string>;
export type Store = Map<string, Row[]>;

const VERBS: Record<string, string[]> = { select: ['select', 'read'], update: ['update', 'write'], drop: ['drop', 'ddl', 'write'] };

export function inspectLine(text: string, target: string): RunStatement & { facts: CommandFacts } {
  const [verb = '', table = ''] = text.trim().split(/\s+/);
  const kind = VERBS[verb.toLowerCase()];
  const facts: CommandFacts = {
    protocol: 'http',
    target,
    text,
    operation: verb.toUpperCase(),
    kinds: kind ?? ['unparsable'],
    tables: table ? [{ name: table }] : [],
    flags: [],
  };
  return { facts, text, ...(table ? { collection: table } : {}) };
}

export function lineAdapter(store: Store): ProtocolAdapter {
  return {
    protocol: 'http',
    defaultPorts: [],
    detect: () => 'no',
    inspect: (text, target) => [inspectLine(text, target).facts],
    open: (_services: PipelineServices, settings: AdapterSettings) => ({
      serve: (connection: Socket, target: TargetSpec, session: ConnectionSession) => {
        new LineSession(connection, target, session, settings, store);
      },
    }),
    refuse: (connection, message) => connection.write(`ERR ${message}\n`),
  };
}

class LineSession {
  private buffered = '';
  private phase: 'auth' | 'ready' | 'busy' | 'closed' = 'auth';
  private readonly queue: string[] = [];
  private inFlight: CommandRun<RunStatement>[] = [];
  private readonly preAuth: PreAuthBounds;

  constructor(
    private readonly socket: Socket,
    private readonly target: TargetSpec,
    private readonly session: ConnectionSession,
    settings: AdapterSettings,
    private readonly store: Store,
  ) {
    session.useConventions({
      sessionAttributes: () => ({ 'line.system': 'memory' }),
      commandAttributes: (s) => ({ 'line.operation': s.facts.operation }),
    });
    this.preAuth = new PreAuthBounds(
      { timedOut: (m) => this.fail(m), evicted: (m) => this.fail(m), waitingForClient: () => this.phase === 'auth' },
      settings.unauthenticated,
      settings.authTimeoutMs,
    );
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () => this.close('client closed'));
    socket.on('error', () => undefined);
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      if (line === 'CANCEL') this.session.runs.cancelHold();
      else this.queue.push(line);
    }
    this.pump();
  }

  private pump(): void {
    while (this.queue.length > 0 && (this.phase === 'auth' || this.phase === 'ready')) {
      const line = this.queue.shift()!;
      if (this.phase === 'auth') {
        this.phase = 'busy';
        void this.authenticate(line.startsWith('AUTH ') ? line.slice(5) : '');
      } else if (line.startsWith('Q ')) {
        this.command(line.slice(2));
      } else {
        this.fail(`unexpected message ${JSON.stringify(line.slice(0, 20))}`);
      }
    }
  }

  private async authenticate(token: string): Promise<void> {
    const identified = await this.session.identify(token);
    if (identified instanceof IdentityRejected) return this.fail(identified.message);
    if (this.phase === 'closed') return this.session.close([], 'closed while authenticating');
    this.preAuth.release();
    try {
      await this.session.credentials();
    } catch (err) {
      this.session.upstreamFailed(`cannot log in: ${(err as Error).message}`, 'credentials');
      return this.fail('cannot log in to the target');
    }
    this.send('READY');
    this.phase = 'ready';
    this.pump();
  }

  private command(text: string): void {
    const statement = inspectLine(text, this.target.name);
    const runs = this.session.runs;
    const decision = runs.decide([statement.facts]);
    const run = runs.start(statement, decision);
    this.inFlight = [run];
    if (decision.action === 'allow') return this.execute(run);
    if (decision.action === 'deny') return this.deny(run, denialMessage(decision));
    this.phase = 'busy';
    void runs.hold(decision, { sessionId: this.session.id, target: this.target.name, sql: Buffer.from(text) }, [run], { notice: (m) => this.send(`NOTICE ${m}`) }).then((decided) => {
      if (!decided || this.phase === 'closed') return;
      this.phase = 'ready';
      if (decided.canceled !== undefined) this.deny(run, decided.canceled);
      else if (decided.outcome.verdict === 'allow') this.execute(run);
      else this.deny(run, decided.outcome.message);
      this.pump();
    });
  }

  private deny(run: CommandRun<RunStatement>, message: string): void {
    this.session.runs.openPending();
    this.reply(run, [], `ERR ${message}`, { error: message, executed: false, statusCode: 'denied' });
  }

  /** The fake target: rows of a table, or an update that changes them. */
  private execute(run: CommandRun<RunStatement>): void {
    this.session.runs.openPending();
    const table = run.statement.collection ?? '';
    const rows = this.store.get(table);
    if (!rows) {
      // The store's error echoes data it holds, as real servers' errors do: a channel to mask.
      const error = `no table "${table}"; tables hold ${[...this.store.values()].flat().map((r) => Object.values(r).join(' ')).join(', ')}`;
      const masked = this.session.textMasker()?.maskText(0, error) ?? { value: error, masked: 0 };
      run.masked += masked.masked;
      return this.reply(run, [], `ERR ${masked.value}`, { error: masked.value, executed: true, statusCode: 'missing' });
    }
    const verb = run.statement.facts.operation;
    if (verb === 'UPDATE') {
      for (const row of rows) row['note'] = 'updated';
      return this.reply(run, [], `DONE UPDATE ${rows.length}`, { executed: true, tag: `UPDATE ${rows.length}`, affectedRows: rows.length });
    }
    if (verb === 'DROP') {
      this.store.delete(table);
      return this.reply(run, [], 'DONE DROP', { executed: true, tag: 'DROP' });
    }
    const columns = Object.keys(rows[0] ?? {});
    const masker = this.session.planResult(columns.map((name) => ({ name, table: { name: table }, textual: true })));
    const lines = rows.map((row) =>
      'ROW ' +
      columns
        .map((name, i) => {
          const value = row[name] ?? '';
          const result = masker ? masker.maskText(i, value) : { value, masked: 0 };
          run.masked += result.masked;
          return `${name}=${result.value}`;
        })
        .join(','),
    );
    run.rows = rows.length;
    this.reply(run, lines, `DONE SELECT ${rows.length}`, { executed: true, tag: `SELECT ${rows.length}` });
  }

  private reply(run: CommandRun<RunStatement>, lines: string[], last: string, outcome: Parameters<ConnectionSession['runs']['end']>[1]): void {
    for (const line of lines) this.send(line);
    this.send(last);
    this.session.runs.end(run, outcome);
    this.inFlight = [];
    this.session.runs.endPending();
  }

  private send(line: string): void {
    if (!this.socket.destroyed) this.socket.write(line + '\n');
  }

  private fail(message: string): void {
    this.send(`ERR ${message}`);
    this.socket.end();
    this.close(message);
  }

  private close(reason: string): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.preAuth?.release();
    this.session.close(this.inFlight, reason);
  }
}
