// The approval broker's HTTP API. Runs in-process in local mode and, unchanged, as a cluster
// service later. Two bearer tokens: requesters (sidecars) create and wait; admins (approvers'
// CLI) list and decide.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { ApprovalError, ApprovalStore } from './approval-store.js';

const MAX_BODY = 64 * 1024;
const MAX_WAIT_MS = 60_000;

const CreateSchema = z.object({
  requester: z.object({ subject: z.string(), issuer: z.string(), identities: z.array(z.string()) }),
  target: z.string(),
  protocol: z.string(),
  command: z.string().max(32 * 1024),
  rule: z.string(),
  approvers: z.array(z.string()),
  sessionId: z.string(),
  timeoutMs: z.number().int().positive(),
});
const DecideSchema = z.object({ approver: z.string().min(1), reason: z.string().max(2000).optional() });

export interface ApprovalBroker {
  url: string;
  store: ApprovalStore;
  close(): Promise<void>;
}

export async function startApprovalBroker(opts: {
  host?: string;
  port?: number;
  adminToken: string;
  requesterToken: string;
  superApprovers?: string[];
}): Promise<ApprovalBroker> {
  const store = new ApprovalStore({ superApprovers: opts.superApprovers });
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof ApprovalError ? err.status : err instanceof HttpError ? err.status : 500;
      const message = err instanceof ApprovalError || err instanceof HttpError ? err.message : 'internal error';
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: message }));
    });
  });

  const role = (req: http.IncomingMessage): 'admin' | 'requester' | undefined => {
    const header = req.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (token && safeEqual(token, opts.adminToken)) return 'admin';
    if (token && safeEqual(token, opts.requesterToken)) return 'requester';
    return undefined;
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://broker');
    const who = role(req);
    if (!who) throw new HttpError(401, 'missing or invalid bearer token');
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] !== 'v1' || parts[1] !== 'approvals') throw new HttpError(404, 'not found');
    const id = parts[2];
    const action = parts[3];
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!id && req.method === 'POST') {
      if (who !== 'requester') throw new HttpError(403, 'only sidecars create approvals');
      const body = CreateSchema.safeParse(await readJson(req));
      if (!body.success) throw new HttpError(400, 'invalid approval request');
      return send(201, store.create(body.data));
    }
    if (!id && req.method === 'GET') {
      if (who !== 'admin') throw new HttpError(403, 'listing approvals needs the admin token');
      const status = url.searchParams.get('status') as Parameters<ApprovalStore['list']>[0] | null;
      return send(200, { approvals: store.list(status ?? undefined) });
    }
    if (id && !action && req.method === 'GET') return send(200, store.get(id));
    if (id && action === 'wait' && req.method === 'GET') {
      const timeoutMs = Math.min(Math.max(Number(url.searchParams.get('timeoutMs') ?? 30_000), 0), MAX_WAIT_MS);
      return send(200, await store.wait(id, timeoutMs));
    }
    if (id && (action === 'approve' || action === 'deny') && req.method === 'POST') {
      if (who !== 'admin') throw new HttpError(403, 'deciding approvals needs the admin token');
      const body = DecideSchema.safeParse(await readJson(req));
      if (!body.success) throw new HttpError(400, 'an approver name is required');
      return send(200, store.decide(id, action === 'approve' ? 'approved' : 'denied', body.data.approver, body.data.reason));
    }
    if (id && action === 'cancel' && req.method === 'POST') {
      if (who !== 'requester') throw new HttpError(403, 'only the requester cancels');
      return send(200, store.cancel(id));
    }
    throw new HttpError(404, 'not found');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${addr.address}:${addr.port}`,
    store,
    close: () =>
      new Promise((resolve) => {
        store.close();
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
}
