// `sidegate approvals list|show|approve|deny`: what an approver types. Talks to the broker's admin
// API. Where the broker is: --broker/--token-file, else SIDEGATE_BROKER_URL /
// SIDEGATE_BROKER_TOKEN_FILE, else local mode's state file `.sidegate/broker.json`
// ({ url, adminTokenFile }) in the current directory.
// Exit codes: 0 done, 1 the broker refused or could not be reached, 2 usage or configuration error.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import type { ApprovalRecord } from '../api/broker-api-schema.js';
import { isApprovalId } from '../api/approval-id.js';
import { BrokerCallError, callBroker } from '../api/broker-http-client.js';
import { formatApprovalDetails, formatApprovalTable, terminalSafe } from './approvals-table.js';
import { parseArgsProblem } from '../../core/command-line/command-line.js';

export interface ApprovalsCliIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** Directory `.sidegate/` is looked up in; the process's cwd when absent. */
  cwd?: string;
}

export const APPROVALS_USAGE = `usage: sidegate approvals list [--all] [--json]
       sidegate approvals show ID [--json]
       sidegate approvals approve ID [--as NAME] [--reason TEXT]
       sidegate approvals deny ID [--as NAME] [--reason TEXT]
options: --broker URL --token-file FILE (or SIDEGATE_BROKER_URL, SIDEGATE_BROKER_TOKEN_FILE;
         default: .sidegate/broker.json from \`sidegate local\`), --state-dir DIR
`;

const CALL_TIMEOUT_MS = 10_000;
const MAX_TOKEN_FILE_BYTES = 16 * 1024;

/** A failure whose message is meant for the approver, with the exit code it ends in. */
class CliFailure extends Error {
  constructor(
    message: string,
    readonly code: 1 | 2,
  ) {
    super(message);
  }
}

interface BrokerAccess {
  url: string;
  token: string;
}

export async function runApprovalsCommand(argv: string[], io: ApprovalsCliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        broker: { type: 'string' },
        'token-file': { type: 'string' },
        'state-dir': { type: 'string' },
        as: { type: 'string' },
        reason: { type: 'string' },
        all: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    io.stderr.write(`sidegate approvals: ${parseArgsProblem(err)}\n${APPROVALS_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(APPROVALS_USAGE);
    return 0;
  }
  const [sub, id, ...extra] = positionals;
  const needsId = sub === 'show' || sub === 'approve' || sub === 'deny';
  const known = sub === 'list' || needsId;
  if (!known || (needsId && !id) || (sub === 'list' && id) || extra.length > 0) {
    const problem = !sub
      ? 'missing subcommand (list, show, approve or deny)'
      : !known
        ? `unknown subcommand "${terminalSafe(sub)}"`
        : needsId && !id
          ? 'missing argument ID'
          : `unexpected argument "${terminalSafe((sub === 'list' ? id : extra[0]) ?? '').slice(0, 40)}"`;
    io.stderr.write(`sidegate approvals: ${problem}\n${APPROVALS_USAGE}`);
    return 2;
  }
  if (needsId && !isApprovalId(id!)) {
    io.stderr.write(`sidegate approvals: "${terminalSafe(id!).slice(0, 40)}" is not an approval id (they look like apr-7k2m9q)\n`);
    return 2;
  }

  try {
    const broker = await locateBroker(values, io);
    const now = Date.now();
    switch (sub) {
      case 'list': {
        const query = values.all ? '' : '?status=pending';
        const { approvals } = await admin<{ approvals: ApprovalRecord[] }>(broker, 'GET', `/v1/approvals${query}`);
        if (values.json) io.stdout.write(JSON.stringify(approvals, null, 2) + '\n');
        else if (approvals.length === 0) io.stdout.write(values.all ? 'no approvals\n' : 'no pending approvals\n');
        else io.stdout.write(formatApprovalTable(approvals, now));
        return 0;
      }
      case 'show': {
        const record = await admin<ApprovalRecord>(broker, 'GET', `/v1/approvals/${id}`);
        io.stdout.write(values.json ? JSON.stringify(record, null, 2) + '\n' : formatApprovalDetails(record, now));
        return 0;
      }
      default: {
        const approver = values.as ?? io.env['USER'] ?? 'local-approver';
        const record = await admin<ApprovalRecord>(broker, 'POST', `/v1/approvals/${id}/${sub}`, { approver, reason: values.reason });
        const why = record.reason ? `: ${record.reason}` : '';
        io.stdout.write(terminalSafe(`${record.id} ${record.status} by ${record.decidedBy ?? approver}${why}`) + '\n');
        return 0;
      }
    }
  } catch (err) {
    if (err instanceof CliFailure) {
      io.stderr.write(`sidegate approvals: ${err.message}\n`);
      return err.code;
    }
    throw err;
  }
}

async function admin<T>(broker: BrokerAccess, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  try {
    return await callBroker<T>({ baseUrl: broker.url, token: broker.token, method, path, body, timeoutMs: CALL_TIMEOUT_MS });
  } catch (err) {
    if (!(err instanceof BrokerCallError)) throw err;
    const hint =
      err.status === 403 && /not an approver/.test(err.message)
        ? ' — decide as one of them with --as NAME'
        : err.status === 401
          ? ' — the token file does not hold this broker’s admin token'
          : '';
    throw new CliFailure(terminalSafe(err.message) + hint, 1);
  }
}

async function locateBroker(
  values: { broker?: string; 'token-file'?: string; 'state-dir'?: string },
  io: ApprovalsCliIo,
): Promise<BrokerAccess> {
  const cwd = io.cwd ?? process.cwd();
  let url = values.broker ?? io.env['SIDEGATE_BROKER_URL'];
  let tokenFile = values['token-file'] ?? io.env['SIDEGATE_BROKER_TOKEN_FILE'];
  if (!url || !tokenFile) {
    const stateFile = join(resolve(cwd, values['state-dir'] ?? '.sidegate'), 'broker.json');
    const local = await readLocalState(stateFile);
    url ??= local.url;
    tokenFile ??= local.adminTokenFile;
  }
  if (!/^https?:\/\//.test(url)) throw new CliFailure(`the broker URL must start with http:// or https://`, 2);
  return { url, token: await readToken(resolve(cwd, tokenFile)) };
}

async function readLocalState(stateFile: string): Promise<{ url: string; adminTokenFile: string }> {
  let text: string;
  try {
    text = await readFile(stateFile, 'utf8');
  } catch {
    throw new CliFailure(
      `no broker given and no ${stateFile}: pass --broker URL --token-file FILE, or run this where \`sidegate local\` runs`,
      2,
    );
  }
  try {
    const state = JSON.parse(text) as { url?: unknown; adminTokenFile?: unknown };
    if (typeof state.url === 'string' && typeof state.adminTokenFile === 'string') return { url: state.url, adminTokenFile: state.adminTokenFile };
  } catch {
    // falls through to the error below
  }
  throw new CliFailure(`${stateFile} is not a broker state file ({ "url", "adminTokenFile" })`, 2);
}

/** The admin token; errors name the file, never its content. */
async function readToken(file: string): Promise<string> {
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch {
    throw new CliFailure(`cannot read the broker token file ${file}`, 2);
  }
  const token = raw.subarray(0, MAX_TOKEN_FILE_BYTES + 1).toString('utf8').trim();
  if (!token || raw.length > MAX_TOKEN_FILE_BYTES || /\s/.test(token)) throw new CliFailure(`the broker token file ${file} does not hold one token`, 2);
  return token;
}
