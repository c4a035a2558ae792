// The pod's capture listener: every TCP connection the redirect rules send to the capture port
// arrives here. For each one: recover the original destination, peek at the first bytes to detect
// the protocol (a destination whose server speaks first, such as a MySQL target, is handed over
// at once; otherwise a client that stays silent is noticed as server-first), ask the
// caller which policy target that is, and hand the connection over with the peeked bytes put back
// in the socket's read buffer. Anything that cannot be resolved is closed (fail closed) after the
// caller has been told, so it can audit the refusal.
//
// Two listeners by default, 0.0.0.0 and :: (ipv6Only): REDIRECT sends IPv4 connections to
// 127.0.0.1 and IPv6 ones to ::1, and each family's NAT record is read with its own getsockopt.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { detectProtocol, type DetectedProtocol, type OpeningDetector, type ProtocolDetection } from './protocol-detection.js';
import { originalDestination as kernelOriginalDestination, type OriginalDestination } from './original-destination.js';

export interface CaptureDetection extends ProtocolDetection {
  /** The client sent nothing within serverFirstWaitMs: a server-first protocol such as MySQL. */
  clientSilent: boolean;
}

export type CaptureRejectionReason =
  | 'no-original-destination' // not redirected, or the kernel has no NAT record for it
  | 'not-redirected' // someone connected to the capture port directly
  | 'no-target' // no policy target for this destination/protocol
  | 'resolve-failed'; // resolveTarget threw

export interface CaptureRejection {
  reason: CaptureRejectionReason;
  destination: OriginalDestination | null;
  detection: CaptureDetection | null;
  client: { host: string; port: number };
  /** Why, for logs and audit (never contains payload bytes). */
  message: string;
}

export interface TransparentListenerOptions<Target> {
  /** Addresses to bind; default 0.0.0.0 and :: (IPv6 only). */
  hosts?: string[];
  port: number;
  /** The policy target for a destination, or null when no policy names it (the connection is closed). */
  resolveTarget(destination: OriginalDestination, detection: CaptureDetection): Target | null;
  /**
   * Owns the socket from here on. `initialBytes` (possibly empty) were already put back into the
   * socket's read buffer: a 'data' listener or pipe receives them first; do not replay them again.
   */
  onConnection(socket: net.Socket, destination: OriginalDestination, detection: CaptureDetection, target: Target, initialBytes: Buffer): void;
  /**
   * A connection that is being refused. The callback may write a protocol-native error
   * synchronously; the listener then ends the socket (and destroys it shortly after).
   */
  onUnknown?(socket: net.Socket, rejection: CaptureRejection): void;
  /** Unexpected errors in callbacks; the affected connection is destroyed. */
  onError?(err: Error): void;
  /**
   * The protocol of a destination whose server speaks first (a MySQL target): such a connection is
   * handed over at once, without waiting for the client's first bytes (it sends none until it
   * reads the server's greeting). Undefined: detect from the client's opening as usual.
   */
  serverFirst?(destination: OriginalDestination): DetectedProtocol | undefined;
  /** How long a silent client is given before it is treated as server-first. Default 150 ms. */
  serverFirstWaitMs?: number;
  /** Upper bound for reading a recognisable opening once the client has started sending. Default 5 s. */
  detectionTimeoutMs?: number;
  /** The protocol adapters' own opening detectors, asked first (the runtime passes the registry's). */
  detectors?: readonly OpeningDetector[];
  /** Upper bound for bytes held back for detection. Default 20 KiB (a large TLS ClientHello fits). */
  maxPeekBytes?: number;
  /**
   * Connections at once still in detection (each may hold maxPeekBytes for detectionTimeoutMs).
   * Beyond it a new connection is closed at once and `onOverload` told. Default 256.
   */
  maxDetecting?: number;
  onOverload?(client: { host: string; port: number }): void;
  /** Where original destinations come from; default SO_ORIGINAL_DST. Tests without NAT substitute it. */
  originalDestination?(socket: net.Socket): OriginalDestination | null;
}

export interface TransparentListener {
  addresses: Array<{ host: string; port: number }>;
  /** Stop accepting; connections already handed over keep running. */
  stopAccepting(): Promise<void>;
  /** Connections still open (in detection or handed over). */
  readonly open: number;
  destroyAll(): void;
}

const DEFAULT_HOSTS = ['0.0.0.0', '::'];
const DEFAULT_MAX_DETECTING = 256;
/** After end(), a refused client that never reads is cut off after this long. */
const REFUSAL_LINGER_MS = 1000;

export async function startTransparentListener<Target>(opts: TransparentListenerOptions<Target>): Promise<TransparentListener> {
  const sockets = new Set<net.Socket>();
  const servers: net.Server[] = [];
  const maxDetecting = opts.maxDetecting ?? DEFAULT_MAX_DETECTING;
  let detecting = 0;
  const slot = {
    acquire: () => (detecting < maxDetecting ? (detecting++, true) : false),
    release: () => void detecting--,
  };
  const handle = (socket: net.Socket) => {
    // A runner opening connections it never finishes cannot hold the sidecar's sockets and memory.
    if (!slot.acquire()) {
      const client = { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
      socket.destroy();
      opts.onOverload?.(client);
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // Resets and timeouts during detection must never reach the process as an unhandled 'error'.
    socket.on('error', () => {});
    socket.setNoDelay(true);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      slot.release();
    };
    socket.once('close', release);
    try {
      acceptConnection(socket, opts, release);
    } catch (err) {
      socket.destroy();
      opts.onError?.(err as Error);
    }
  };
  try {
    for (const host of opts.hosts ?? DEFAULT_HOSTS) {
      const server = net.createServer({ noDelay: true }, handle);
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: opts.port, host, ipv6Only: host.includes(':') }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      // Accept errors after startup (EMFILE …) must not crash the sidecar.
      server.on('error', (err) => opts.onError?.(err));
    }
  } catch (err) {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    throw err;
  }
  return {
    addresses: servers.map((s) => {
      const a = s.address() as AddressInfo;
      return { host: a.address, port: a.port };
    }),
    // Stops listening now; open connections are the caller's to wait for or destroy (server.close's
    // callback would wait for them, holding a stop past its grace period).
    stopAccepting: async () => {
      for (const s of servers) s.close();
    },
    get open() {
      return sockets.size;
    },
    destroyAll() {
      for (const s of sockets) s.destroy();
    },
  };
}

function acceptConnection<Target>(socket: net.Socket, opts: TransparentListenerOptions<Target>, detected: () => void): void {
  const client = { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
  const refuse = (rejection: Omit<CaptureRejection, 'client'>) => refuseConnection(socket, { ...rejection, client }, opts);

  let destination: OriginalDestination | null;
  try {
    destination = (opts.originalDestination ?? kernelOriginalDestination)(socket);
  } catch (err) {
    return refuse({ reason: 'no-original-destination', destination: null, detection: null, message: (err as Error).message });
  }
  if (!destination) {
    return refuse({ reason: 'no-original-destination', destination: null, detection: null, message: 'the kernel has no original destination for this connection' });
  }
  // A direct connection to the capture port has itself as "original" destination; serving it would
  // let anyone in the pod reach an arbitrary target without naming a destination.
  if (destination.port === socket.localPort && sameAddress(destination.host, socket.localAddress ?? '')) {
    return refuse({ reason: 'not-redirected', destination, detection: null, message: 'connection made directly to the capture port' });
  }
  const dest = destination;
  const route = (detection: CaptureDetection, initialBytes: Buffer) => {
    detected();
    let target: Target | null;
    try {
      target = opts.resolveTarget(dest, detection);
    } catch (err) {
      return refuse({ reason: 'resolve-failed', destination: dest, detection, message: (err as Error).message });
    }
    if (target === null || target === undefined) {
      return refuse({ reason: 'no-target', destination: dest, detection, message: `no policy target for ${formatAddress(dest)} (${detection.protocol})` });
    }
    try {
      opts.onConnection(socket, dest, detection, target, initialBytes);
    } catch (err) {
      socket.destroy();
      opts.onError?.(err as Error);
    }
  };
  let serverFirst: DetectedProtocol | undefined;
  try {
    serverFirst = opts.serverFirst?.(dest);
  } catch (err) {
    detected();
    return refuse({ reason: 'resolve-failed', destination: dest, detection: null, message: (err as Error).message });
  }
  if (serverFirst !== undefined) return route({ protocol: serverFirst, needMore: false, clientSilent: true }, Buffer.alloc(0));
  peekOpening(socket, opts, route);
}

/**
 * Reads until the opening is recognised, the byte bound is reached, the client stays silent past
 * serverFirstWaitMs, or detectionTimeoutMs passes; then puts the bytes back and calls `done` once.
 * Uses 'readable' rather than 'data' so that, once our listener is removed, the stream is back in
 * its initial state and the adapter's own 'data' listener starts the flow (after a pause() it
 * would not).
 */
function peekOpening<Target>(
  socket: net.Socket,
  opts: TransparentListenerOptions<Target>,
  done: (detection: CaptureDetection, initialBytes: Buffer) => void,
): void {
  const maxBytes = opts.maxPeekBytes ?? 20 * 1024;
  const chunks: Buffer[] = [];
  let length = 0;
  let finished = false;
  const finish = (clientSilent: boolean) => {
    if (finished) return;
    finished = true;
    clearTimeout(silenceTimer);
    clearTimeout(overallTimer);
    socket.off('readable', onReadable);
    socket.off('end', onEnd);
    socket.off('close', onClose);
    if (socket.destroyed) return;
    const initialBytes = Buffer.concat(chunks, length);
    const detected = detectProtocol(initialBytes, opts.detectors);
    // Out of time or bytes while still ambiguous: the opening is not one we recognise.
    const detection: CaptureDetection = detected.needMore
      ? { protocol: 'unknown', needMore: false, clientSilent }
      : { ...detected, clientSilent };
    if (initialBytes.length > 0) socket.unshift(initialBytes);
    done(detection, initialBytes);
  };
  const onReadable = () => {
    let chunk: Buffer | null;
    while (!finished && length < maxBytes && (chunk = socket.read() as Buffer | null) !== null) {
      chunks.push(chunk);
      length += chunk.length;
    }
    if (finished || length === 0) return;
    clearTimeout(silenceTimer);
    if (length >= maxBytes || !detectProtocol(Buffer.concat(chunks, length), opts.detectors).needMore) finish(false);
  };
  // The client half-closed. Silent so far: decide now (server-first). Mid-opening: the stream has
  // ended, so the bytes can no longer be put back for an adapter; drop the connection.
  const onEnd = () => {
    if (length === 0) return finish(true);
    onClose();
    socket.destroy();
  };
  // Reset or closed before we decided: nothing to hand over.
  const onClose = () => {
    finished = true;
    clearTimeout(silenceTimer);
    clearTimeout(overallTimer);
  };
  const silenceTimer = setTimeout(() => {
    if (length === 0) finish(true);
  }, opts.serverFirstWaitMs ?? 150);
  const overallTimer = setTimeout(() => finish(length === 0), opts.detectionTimeoutMs ?? 5000);
  socket.on('readable', onReadable);
  socket.once('end', onEnd);
  socket.once('close', onClose);
}

function refuseConnection<Target>(socket: net.Socket, rejection: CaptureRejection, opts: TransparentListenerOptions<Target>): void {
  try {
    opts.onUnknown?.(socket, rejection);
  } catch (err) {
    opts.onError?.(err as Error);
  }
  if (socket.destroyed) return;
  socket.end();
  setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
}

function sameAddress(a: string, b: string): boolean {
  const strip = (s: string) => (s.startsWith('::ffff:') ? s.slice(7) : s);
  return strip(a) === strip(b);
}

function formatAddress(d: OriginalDestination): string {
  return d.family === 6 ? `[${d.host}]:${d.port}` : `${d.host}:${d.port}`;
}
