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
  /**
   * Rules on the client's first bytes before any of them goes to the destination (the server's
   * bytes flow meanwhile: a server-first greeting still reaches the client). Asked again as bytes
   * arrive while it answers 'more'; `final` (no more will come: the byte or time bound, or the
   * client's end) never gets 'more'. On 'refuse' the caller has written its refusal to the client;
   * the relay ends the client and drops the destination, having forwarded nothing.
   */
  screen?(opening: Buffer, final: boolean): 'relay' | 'more' | 'refuse';
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
  /** The screen refused the client's opening: nothing of it reached the destination. */
  refused: boolean;
}

/** Client bytes the screen may hold back, and for how long after the first of them arrived. */
export const SCREEN_MAX_BYTES = 20 * 1024;
export const SCREEN_TIMEOUT_MS = 5000;

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
  let refused = false;

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
      refused,
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
  const countAndKeep = (chunk: Buffer) => {
    bytesToServer += chunk.length;
    if (openingLength < keep) {
      const part = chunk.subarray(0, keep - openingLength);
      opening.push(Buffer.from(part));
      openingLength += part.length;
    }
  };
  // pipe(): pauses the source while the destination's buffer is full, and end()s the destination
  // when the source ends (the half-close). `held` bytes (screened) go first.
  const pipeClient = (held: Buffer[], clientEnded: boolean) => {
    for (const chunk of held) {
      countAndKeep(chunk);
      upstream.write(chunk);
    }
    if (clientEnded) return void upstream.end();
    client.on('data', countAndKeep);
    client.pipe(upstream);
  };
  const screenThenPipe = (screen: NonNullable<RelayOptions['screen']>) => {
    const held: Buffer[] = [];
    let heldLength = 0;
    let settled = false;
    let ended = false;
    let screenTimer: NodeJS.Timeout | undefined;
    const settle = (final: boolean) => {
      if (settled || client.destroyed) return;
      let verdict: 'relay' | 'more' | 'refuse';
      try {
        verdict = screen(Buffer.concat(held, heldLength), final);
      } catch {
        verdict = 'refuse'; // inside a 'data' handler a throw would end the process; refuse this one connection
      }
      if (verdict === 'more' && final) verdict = 'refuse'; // a screen that cannot decide fails closed
      if (verdict === 'more') return;
      settled = true;
      clearTimeout(screenTimer);
      client.off('data', onData);
      client.off('end', onEnd);
      if (verdict === 'relay') return pipeClient(held, ended);
      refused = true;
      error ??= 'refused: the opening the client sent after the decision';
      upstream.destroy(); // its close ends the client after the refusal is flushed (closeAfterFlush)
    };
    const onData = (chunk: Buffer) => {
      held.push(chunk);
      heldLength += chunk.length;
      // A silent client (server-first protocol) is never timed out here: only an opening that has begun.
      screenTimer ??= setTimeout(() => settle(true), SCREEN_TIMEOUT_MS).unref();
      settle(heldLength >= SCREEN_MAX_BYTES);
    };
    const onEnd = () => {
      ended = true;
      if (heldLength === 0) {
        settled = true;
        clearTimeout(screenTimer);
        client.off('data', onData);
        return void upstream.end();
      }
      settle(true);
    };
    client.on('data', onData);
    client.once('end', onEnd);
  };
  upstream.once('connect', () => {
    clearTimeout(timer);
    connected = true;
    upstream.on('data', (chunk: Buffer) => (bytesToClient += chunk.length));
    upstream.pipe(client);
    if (opts.screen) screenThenPipe(opts.screen);
    else pipeClient([], false);
  });
}
