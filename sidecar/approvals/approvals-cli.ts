// `sidegate approvals list|show|approve|deny`: what an approver types. Talks to the broker's
// admin API; by default finds local mode's broker through .sidegate/broker.json.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';
import type { ApprovalRecord } from './approval-store.js';

interface Io {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

export async function runApprovalsCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      broker: { type: 'string' },
      'token-file': { type: 'string' },
      'state-dir': { type: 'string', default: '.sidegate' },
      as: { type: 'string' },
      reason: { type: 'string' },
      all: { type: 'boolean', default: false },
    },
  });
  const [sub, id] = positionals;
  let url = values.broker ?? io.env['SIDEGATE_BROKER_URL'];
  let tokenFile = values['token-file'] ?? io.env['SIDEGATE_BROKER_TOKEN_FILE'];
  if (!url || !tokenFile) {
    try {
      const local = JSON.parse(await readFile(`${values['state-dir']}/broker.json`, 'utf8')) as { url: string; adminTokenFile: string };
      url ??= local.url;
      tokenFile ??= local.adminTokenFile;
    } catch {
      io.stderr.write('sidegate approvals: no broker: pass --broker URL --token-file F, or run in the directory where `sidegate local` runs\n');
      return 2;
    }
  }
  let token: string;
  try {
    token = (await readFile(tokenFile!, 'utf8')).trim();
  } catch {
    io.stderr.write(`sidegate approvals: cannot read the broker token file ${tokenFile}\n`);
    return 2;
  }
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) throw new Error(String(json['error'] ?? `broker answered ${res.status}`));
    return json;
  };
  try {
    switch (sub) {
      case 'list': {
        const { approvals } = (await call('GET', `/v1/approvals${values.all ? '' : '?status=pending'}`)) as { approvals: ApprovalRecord[] };
        if (approvals.length === 0) {
          io.stdout.write(values.all ? 'no approvals\n' : 'no pending approvals\n');
          return 0;
        }
        io.stdout.write(`${'ID'.padEnd(12)} ${'STATUS'.padEnd(9)} ${'AGE'.padEnd(6)} ${'REQUESTER'.padEnd(28)} ${'TARGET'.padEnd(12)} ${'RULE'.padEnd(28)} COMMAND\n`);
        for (const a of approvals) {
          const age = `${Math.round((Date.now() - Date.parse(a.createdAt)) / 1000)}s`;
          const cmd = a.command.length > 60 ? a.command.slice(0, 57) + '...' : a.command;
          io.stdout.write(
            `${a.id.padEnd(12)} ${a.status.padEnd(9)} ${age.padEnd(6)} ${a.requester.subject.slice(0, 28).padEnd(28)} ${a.target.padEnd(12)} ${a.rule.slice(0, 28).padEnd(28)} ${cmd.replace(/\s+/g, ' ')}\n`,
          );
        }
        return 0;
      }
      case 'show': {
        if (!id) break;
        io.stdout.write(JSON.stringify(await call('GET', `/v1/approvals/${id}`), null, 2) + '\n');
        return 0;
      }
      case 'approve':
      case 'deny': {
        if (!id) break;
        const approver = values.as ?? io.env['USER'] ?? 'local-approver';
        const rec = (await call('POST', `/v1/approvals/${id}/${sub}`, { approver, reason: values.reason })) as unknown as ApprovalRecord;
        io.stdout.write(`${rec.id} ${rec.status} by ${rec.decidedBy}\n`);
        return 0;
      }
    }
  } catch (err) {
    io.stderr.write(`sidegate approvals: ${(err as Error).message}\n`);
    return 1;
  }
  io.stderr.write('usage: sidegate approvals list [--all] | show ID | approve ID [--as NAME] [--reason R] | deny ID [--as NAME] [--reason R]\n');
  return 2;
}
