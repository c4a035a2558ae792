// Relays one captured connection, untouched, to its original destination: the sidecar connects
// out (its uid is exempt from the redirect rules, so this connection is not captured again) and
// pipes both ways with backpressure. Half-closes travel through (a client that shuts down its
// sending side still gets the reply); a connect that takes longer than the bound, a reset or an
// error on either side closes this one connection. Bytes the capture listener already read for
// protocol detection were put back into the client socket, so they are the first to go out.
import net from 'node:net';

/** How long a side whose peer is gone may take to flush before it is destroyed. */
const CLOSE_LINGER_MS = 5000;

export interface RelayOptions {
  host: string;
  port: number;
  /** Upper bound from connect() to connected. */
  connectTimeoutMs: number;
  /**
   * The first client bytes toward the server, up to this many, are kept for `onClosed` (the
   * audit record reads an HTTP Host from them).
   */
  keepOpeningBytes?: number;
  /** Once, after both sockets are closed. */
  onClosed(result: RelayResult): void;
}

export interface RelayResult {
  /** The upstream connection was established. */
  connected: boolean;
  bytesToServer: number;
  bytesToClient: number;
  durationMs: number;
  /** Why the relay ended abnormally (connect failure or timeout, reset); no payload bytes. */
  error?: string;
  opening: Buffer;
}

export function relayToDestination(client: net.Socket, opts: RelayOptions): void {
  const started = performance.now();
  const keep = opts.keepOpeningBytes ?? 0;
  const opening: Buffer[] = [];
  let openingLength = 0;
  let bytesToServer = 0;
  let bytesToClient = 0;
  let connected = false;
  let error: string | undefined;
  let closed = 0;

  // Our write side stays open after the client's FIN until the server has answered.
  client.allowHalfOpen = true;
  const upstream = net.connect({ host: opts.host, port: opts.port, allowHalfOpen: true, noDelay: true });
  const fail = (why: string) => {
    error ??= why;
    client.destroy();
    upstream.destroy();
  };
  const timer = setTimeout(() => fail(`connect to ${opts.host}:${opts.port} timed out after ${opts.connectTimeoutMs} ms`), opts.connectTimeoutMs);
  timer.unref();
  const onClose = () => {
    if (++closed < 2) return;
    clearTimeout(timer);
    opts.onClosed({
      connected,
      bytesToServer,
      bytesToClient,
      durationMs: Math.round(performance.now() - started),
      error,
      opening: Buffer.concat(opening, openingLength),
    });
  };
  // One side gone for good: the other gets what is already buffered for it, then closes too
  // (bounded: a peer that stops reading does not keep it open).
  const closeAfterFlush = (s: net.Socket) => {
    if (s.destroyed) return;
    const linger = setTimeout(() => s.destroy(), CLOSE_LINGER_MS);
    linger.unref();
    s.once('close', () => clearTimeout(linger));
    if (s.writableFinished) return void s.destroy();
    s.once('finish', () => s.destroy());
    s.end();
  };
  client.once('close', (hadError) => {
    // Gone before the server was reached, or reset: nothing more can be delivered either way.
    if (!connected || hadError) fail(hadError ? 'client connection reset' : 'client closed before the destination answered');
    else closeAfterFlush(upstream);
    onClose();
  });
  upstream.once('close', (hadError) => {
    if (hadError) fail(error ?? 'destination connection reset');
    else closeAfterFlush(client);
    onClose();
  });
  client.on('error', (err) => fail(`client: ${err.message}`));
  upstream.on('error', (err) => fail(connected ? `destination: ${err.message}` : `connect to ${opts.host}:${opts.port}: ${err.message}`));
  upstream.once('connect', () => {
    clearTimeout(timer);
    connected = true;
    client.on('data', (chunk: Buffer) => {
      bytesToServer += chunk.length;
      if (openingLength < keep) {
        const part = chunk.subarray(0, keep - openingLength);
        opening.push(Buffer.from(part));
        openingLength += part.length;
      }
    });
    upstream.on('data', (chunk: Buffer) => (bytesToClient += chunk.length));
    // pipe(): pauses the source while the destination's buffer is full, and end()s the
    // destination when the source ends (the half-close).
    client.pipe(upstream);
    upstream.pipe(client);
  });
}
