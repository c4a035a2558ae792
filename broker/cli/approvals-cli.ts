// `sidegate approvals list|show|approve|deny`: what an approver types. Talks to the broker's admin
// API. Where the broker is: --broker/--token-file, else SIDEGATE_BROKER_URL /
// SIDEGATE_BROKER_TOKEN_FILE, else local mode's state file `.sidegate/broker.json`
// ({ url, adminTokenFile }) in the current directory. With a broker URL and no token file, the
// approver's ID token cached by `sidegate approvals login` (device authorization grant) is sent.
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
import { defaultApproverTokenFile, deviceLogin } from './device-login.js';

export interface ApprovalsCliIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** Directory `.sidegate/` is looked up in; the process's cwd when absent. */
  cwd?: string;
}

export const APPROVALS_USAGE = `usage: sidegate approvals list [--all] [--json]
       sidegate approvals show ID [--json]
       sidegate approvals approve ID [--reason TEXT] [--as NAME]
       sidegate approvals deny ID [--reason TEXT] [--as NAME]
       (with an OIDC token the approver is who the token says; --as only with local mode's admin token)
       sidegate approvals login --issuer URL --client-id ID [--scope NAME]… [--token-file FILE]
options: --broker URL --token-file FILE (or SIDEGATE_BROKER_URL, SIDEGATE_BROKER_TOKEN_FILE;
         default: the token \`login\` cached, or .sidegate/broker.json from \`sidegate local\`),
         --state-dir DIR; login: --issuer/--client-id (or SIDEGATE_OIDC_ISSUER, SIDEGATE_OIDC_CLIENT_ID)
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
        issuer: { type: 'string' },
        'client-id': { type: 'string' },
        scope: { type: 'string', multiple: true },
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
  if (sub === 'login' && !id) return login(values, io);
  const needsId = sub === 'show' || sub === 'approve' || sub === 'deny';
  const known = sub === 'list' || needsId;
  if (!known || (needsId && !id) || (sub === 'list' && id) || extra.length > 0) {
    const problem = !sub
      ? 'missing subcommand (list, show, approve, deny or login)'
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
        // A vote short of the threshold leaves the request pending: say how far it got.
        const approvals = (record.votes ?? []).filter((v) => v.verdict === 'approved').length;
        const line = record.status === 'pending' ? `${record.id} pending: vote recorded (${approvals} of ${record.threshold ?? 1} approvals)` : `${record.id} ${record.status} by ${record.decidedBy ?? approver}${why}`;
        io.stdout.write(terminalSafe(line) + '\n');
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

async function login(
  values: { issuer?: string; 'client-id'?: string; scope?: string[]; 'token-file'?: string },
  io: ApprovalsCliIo,
): Promise<number> {
  const issuer = values.issuer ?? io.env['SIDEGATE_OIDC_ISSUER'];
  const clientId = values['client-id'] ?? io.env['SIDEGATE_OIDC_CLIENT_ID'];
  if (!issuer || !clientId) {
    io.stderr.write(`sidegate approvals: login needs --issuer URL and --client-id ID\n${APPROVALS_USAGE}`);
    return 2;
  }
  const tokenFile = resolve(io.cwd ?? process.cwd(), values['token-file'] ?? io.env['SIDEGATE_BROKER_TOKEN_FILE'] ?? defaultApproverTokenFile(io.env));
  try {
    const { name, expiresAt } = await deviceLogin({
      issuer,
      clientId,
      tokenFile,
      scopes: values.scope ?? ['groups'],
      show: (instructions) => io.stderr.write(`${terminalSafe(instructions)}\n`),
    });
    const until = expiresAt ? ` until ${expiresAt.toISOString()}` : '';
    io.stdout.write(terminalSafe(`signed in as ${name}${until}; token cached in ${tokenFile}`) + '\n');
    return 0;
  } catch (err) {
    // openid-client's messages name the failing step and the provider's error code, never a token.
    io.stderr.write(`sidegate approvals: login failed: ${terminalSafe(err instanceof Error ? err.message : String(err))}\n`);
    return 1;
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
  if (url && !tokenFile) tokenFile = defaultApproverTokenFile(io.env);
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
