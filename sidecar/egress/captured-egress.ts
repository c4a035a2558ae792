// Captured connections to destinations no policy target names: decided by the policy's egress
// section, then relayed untouched to where the client was going (passthrough) or closed (refuse).
// Every one is audited — a span with the destination, the client, what the opening bytes said
// (protocol, TLS SNI, HTTP Host), bytes each way and the decision — and logged as a security event.
//
// Callers only hand over destinations that are NOT a target: a connection to a target's address
// whose protocol does not match it is the runtime's to refuse, never ours to relay. Built-in
// refusals come before the policy's rules: loops back into the pod or the sidecar, and any port of
// a target whose address is not known yet (the connection might be to it).
//
// Nothing here knows a wire protocol beyond reading names for the record: a protocol-native
// refusal (PostgreSQL's FATAL) is the `refuse` callback the runtime passes in.
import type net from 'node:net';
import type { AuditTrail } from '../../core/audit/index.js';
import type { Logger } from '../../core/logging/logger.js';
import { SecurityEvent } from '../../core/logging/security-events.js';
import { EGRESS_BUILTIN_RULES, type EgressPolicy } from '../../core/vocabulary.js';
import type { CaptureDetection } from '../capture/transparent-listener.js';
import { detectProtocol, type OpeningDetector } from '../capture/protocol-detection.js';
import type { OriginalDestination } from '../capture/original-destination.js';
import { EgressRuleMatcher, type EgressDecision } from './egress-rule-matcher.js';
import { LoopGuard } from './loop-guard.js';
import { httpRequestHost, MAX_REQUEST_HEAD_BYTES } from './http-request-host.js';
import { relayToDestination } from './passthrough-relay.js';
import { ATTR_CLIENT_ADDRESS, ATTR_CLIENT_PORT, ATTR_HTTP_REQUEST_HEADER, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '@opentelemetry/semantic-conventions';
import { ATTR_TLS_CLIENT_SERVER_NAME } from '@opentelemetry/semantic-conventions/incubating';

/** The Host header an HTTP client sent, under its semantic-convention name. */
const HTTP_HOST_HEADER = ATTR_HTTP_REQUEST_HEADER('host');

export type { EgressDecision } from './egress-rule-matcher.js';

export const DEFAULT_EGRESS_CONNECT_TIMEOUT_MS = 10_000;
/** Relays open at once; beyond, new egress is refused (each relay holds two sockets). */
export const DEFAULT_MAX_RELAYS = 1024;
/** After end(), a refused client that never reads is cut off after this long. */
const REFUSAL_LINGER_MS = 1000;

export interface CapturedEgressOptions {
  policy: EgressPolicy;
  audit: Pick<AuditTrail, 'startSession'>;
  log: Logger;
  /** The sidecar's bound ports (capture, listeners, admin): never relayed to on the pod's addresses. */
  ownPorts(): Iterable<number>;
  /** Ports of targets whose address is not known: connections to them are refused. */
  unresolvedTargetPorts(): ReadonlySet<number>;
  /** Protocols sidegate has an adapter for: relayed only when a rule says so, never by the default. */
  guardedProtocols?: ReadonlySet<string>;
  /**
   * The adapters' opening detectors. A connection decided before its opening was known (a silent
   * client, an opening cut short past the detection timeout, bytes no reader recognised) has its
   * first bytes read again by them before any reaches the destination, and is decided again.
   */
  detectors?: readonly OpeningDetector[];
  /** Writes a refusal in the client's protocol, if it has one (may write nothing); we end the socket after. */
  refuse(socket: net.Socket, detection: CaptureDetection, message: string): void;
  connectTimeoutMs?: number;
  /** Relays open at once (default DEFAULT_MAX_RELAYS). */
  maxRelays?: number;
  /** The pod's addresses for the loop guard; default every interface address. */
  localAddresses?(): Iterable<string>;
}

export class CapturedEgress {
  private relays = 0;
  private readonly matcher: EgressRuleMatcher;
  private readonly loops: LoopGuard;

  constructor(private readonly opts: CapturedEgressOptions) {
    this.matcher = new EgressRuleMatcher(opts.policy);
    this.loops = new LoopGuard(() => opts.ownPorts(), opts.localAddresses ? () => opts.localAddresses!() : undefined);
  }

  decide(destination: OriginalDestination, detection: Pick<CaptureDetection, 'protocol' | 'tlsFor'>): EgressDecision {
    if (this.loops.isLoop(destination.host, destination.port)) return { action: 'refuse', rule: EGRESS_BUILTIN_RULES.loop };
    if (this.opts.unresolvedTargetPorts().has(destination.port)) return { action: 'refuse', rule: EGRESS_BUILTIN_RULES.targetUnresolved };
    // Direct TLS whose ALPN names a guarded protocol (PostgreSQL 17) is that protocol, not "tls".
    const protocol = detection.tlsFor ?? detection.protocol;
    const decided = this.matcher.decide({ host: destination.host, port: destination.port, protocol });
    // A database protocol sidegate guards, to an address no target names, is most likely a guarded
    // database reached another way: fail closed unless the operator relays it by name.
    if (decided.rule === EGRESS_BUILTIN_RULES.default && this.opts.guardedProtocols?.has(protocol)) {
      return { action: 'refuse', rule: EGRESS_BUILTIN_RULES.guardedProtocol };
    }
    return decided;
  }

  /** Takes the socket over: relays it or refuses it, audited either way. `initialBytes` are already back in the socket. */
  handle(socket: net.Socket, destination: OriginalDestination, detection: CaptureDetection, decision: EgressDecision, initialBytes: Buffer): void {
    if (decision.action === 'passthrough' && this.relays >= (this.opts.maxRelays ?? DEFAULT_MAX_RELAYS)) {
      decision = { action: 'refuse', rule: EGRESS_BUILTIN_RULES.capacity };
    }
    const where = formatAddress(destination);
    const host = detection.protocol === 'http' ? httpRequestHost(initialBytes) : undefined;
    const facts = {
      'sidegate.protocol': detection.tlsFor ?? detection.protocol,
      'sidegate.rule': decision.rule,
      [ATTR_SERVER_ADDRESS]: destination.host,
      [ATTR_SERVER_PORT]: destination.port,
      [ATTR_CLIENT_ADDRESS]: socket.remoteAddress ?? '',
      [ATTR_CLIENT_PORT]: socket.remotePort ?? 0,
      [ATTR_TLS_CLIENT_SERVER_NAME]: detection.sni,
      [HTTP_HOST_HEADER]: host,
    };
    const logFields = {
      rule: decision.rule,
      protocol: detection.protocol,
      destination: where,
      client: `${socket.remoteAddress ?? ''}:${socket.remotePort ?? 0}`,
      sni: detection.sni,
      host,
    };

    if (decision.action === 'refuse') {
      const message = `egress to ${where} (${detection.protocol}) refused by rule ${decision.rule}`;
      const span = this.opts.audit.startSession({ ...facts, 'sidegate.decision': 'deny' }, 'egress refused');
      span.end({ error: message });
      this.opts.log.warn('security: egress refused', { event: SecurityEvent.egressRefused, ...logFields, decision: 'deny', traceId: span.traceId });
      try {
        this.opts.refuse(socket, detection, `sidegate: ${message}`);
      } finally {
        socket.end();
        setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
      }
      return;
    }

    const span = this.opts.audit.startSession({ ...facts, 'sidegate.decision': 'passthrough' }, 'egress passthrough');
    this.opts.log.info('security: egress passthrough', { event: SecurityEvent.egressRelayed, ...logFields, decision: 'passthrough', traceId: span.traceId });
    // Decided on an opening that said nothing: a client silent past the server-first wait, or one
    // that sends a PostgreSQL startup in pieces slower than the detection timeout, would otherwise
    // reach a database uninspected. Its first bytes are read again before any goes out.
    let late: { protocol: string; decision: EgressDecision } | undefined;
    const detectors = this.opts.detectors ?? [];
    const screen =
      detection.protocol === 'unknown' && detectors.length > 0
        ? (opening: Buffer, final: boolean): 'relay' | 'more' | 'refuse' => {
            const found = detectProtocol(opening, detectors);
            if (found.needMore && !final) return 'more';
            // Still a prefix of an adapter's opening when no more will come: decide it as that protocol.
            const protocol = found.needMore ? (detectors.find((d) => d.detect(opening) === 'more')?.protocol ?? 'unknown') : (found.tlsFor ?? found.protocol);
            if (protocol === 'unknown') return 'relay';
            const decision = this.decide(destination, { protocol });
            late = { protocol, decision };
            if (decision.action === 'passthrough') return 'relay';
            const message = `egress to ${where} (${protocol}) refused by rule ${decision.rule}`;
            this.opts.log.warn('security: egress refused', { event: SecurityEvent.egressRefused, ...logFields, protocol, rule: decision.rule, decision: 'deny', late: true, traceId: span.traceId });
            this.opts.refuse(socket, { ...detection, protocol: found.needMore ? 'unknown' : found.protocol }, `sidegate: ${message}`);
            return 'refuse';
          }
        : undefined;
    this.relays++;
    relayToDestination(socket, {
      screen,
      host: destination.host,
      port: destination.port,
      connectTimeoutMs: this.opts.connectTimeoutMs ?? DEFAULT_EGRESS_CONNECT_TIMEOUT_MS,
      keepOpeningBytes: detection.protocol === 'http' && host === undefined ? MAX_REQUEST_HEAD_BYTES : 0,
      onClosed: (r) => {
        this.relays--;
        if (late) {
          span.setAttributes({ 'sidegate.protocol': late.protocol, 'sidegate.rule': late.decision.rule });
          if (r.refused) span.setAttributes({ 'sidegate.decision': 'deny' });
        }
        span.setAttributes({
          'sidegate.egress.connected': r.connected,
          'sidegate.egress.bytes_to_server': r.bytesToServer,
          'sidegate.egress.bytes_to_client': r.bytesToClient,
          'sidegate.egress.duration_ms': r.durationMs,
          // The head may have arrived after detection decided: read the Host from what was relayed.
          ...(detection.protocol === 'http' && host === undefined ? { [HTTP_HOST_HEADER]: httpRequestHost(r.opening) } : {}),
        });
        span.end(r.error ? { error: r.error } : undefined);
      },
    });
  }
}

function formatAddress(d: OriginalDestination): string {
  return d.family === 6 ? `[${d.host}]:${d.port}` : `${d.host}:${d.port}`;
}
