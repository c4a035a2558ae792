// A minimal HTTPS client for tests: sends a body, trusts exactly the given CA, returns status,
// parsed JSON (when it is JSON) and the server certificate's fingerprint.
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';

export interface HttpsReply {
  status: number;
  json: any;
  text: string;
  fingerprint256: string;
  headers: IncomingHttpHeaders;
}

export function httpsRequest(
  url: string,
  options: { ca: string; method?: string; body?: string | Buffer; headers?: Record<string, string> },
): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', ca: options.ca, headers: options.headers, agent: false }, (res) => {
      const fingerprint256 = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json, text, fingerprint256, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
