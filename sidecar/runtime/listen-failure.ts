// A listen() that failed, said for the operator: which part wanted which address, and why, in
// words (EADDRINUSE → "address already in use") rather than as libuv's error string.
const REASONS: Record<string, string> = {
  EADDRINUSE: 'address already in use (another process listens there; stop it or choose another port)',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'address not available on this machine',
};

export function listenFailure(what: string, address: { host: string; port: number }, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const reason = (code && REASONS[code]) ?? (err as Error).message;
  return new Error(`${what} cannot listen on ${address.host}:${address.port}: ${reason}`);
}
