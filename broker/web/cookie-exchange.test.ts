// A request and response pair without a server, for the cookie tests (no tests here: shared by
// the tests beside it).
import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';

/** A request carrying `cookie` as its Cookie header, and a response to it. */
export function exchange(cookie?: string): { req: IncomingMessage; res: ServerResponse } {
  const req = new IncomingMessage(new Socket());
  if (cookie !== undefined) req.headers.cookie = cookie;
  return { req, res: new ServerResponse(req) };
}

export function setCookies(res: ServerResponse): string[] {
  return (res.getHeader('set-cookie') as string[] | undefined) ?? [];
}

/** The `name=value` part of the last Set-Cookie: the Cookie header the browser sends next. */
export function cookieOf(res: ServerResponse): string {
  const header = setCookies(res).at(-1);
  assert.ok(header);
  return header.split(';')[0] as string;
}
