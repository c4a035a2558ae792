// One HTTPS form POST to the token exchange and its answer, bounded in time and size. The body
// holds the pod's token (and, for revocation, the credential): nothing of it is logged, and an
// error names the exchange's address and what went wrong, never what was sent.
import http from 'node:http';
import https from 'node:https';
import { readBoundedBody } from '../../core/http/bounded-body.js';
import { FORM_CONTENT_TYPE } from '../../exchange/protocol/client-forms.js';

export interface ExchangeReply {
  status: number;
  body: Buffer;
  traceparent: string | string[] | undefined;
}

/** A reply larger than this is not an exchange's (its answers are a few hundred bytes). */
const MAX_REPLY_BYTES = 64 * 1024;

export class ExchangeUnreachable extends Error {
  override readonly name = 'ExchangeUnreachable';
}

export function postExchangeForm(url: URL, form: string, opts: { ca?: Buffer; timeoutMs: number }): Promise<ExchangeReply> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': FORM_CONTENT_TYPE, 'content-length': Buffer.byteLength(form), accept: 'application/json' },
        ...(opts.ca ? { ca: opts.ca } : {}),
        timeout: opts.timeoutMs,
      },
      (res) => {
        void readBoundedBody(res, MAX_REPLY_BYTES).then((read) => {
          if (!read.ok) reject(new ExchangeUnreachable(read.reason === 'too-large' ? 'its answer is too large' : 'its answer could not be read'));
          else resolve({ status: res.statusCode ?? 0, body: read.body, traceparent: res.headers['traceparent'] });
        });
      },
    );
    req.on('timeout', () => req.destroy(new ExchangeUnreachable(`no answer within ${opts.timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => reject(err instanceof ExchangeUnreachable ? err : new ExchangeUnreachable(err.code ?? err.message)));
    req.end(form);
  });
}
