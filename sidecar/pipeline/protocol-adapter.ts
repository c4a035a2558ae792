// The one contract a protocol implements to plug into the pipeline. An adapter contributes wire
// mechanics (its handshake, framing, how a denial or a hold looks to its clients), its inspector,
// its value formats for masking and its semantic-convention attributes — nothing else. Identity,
// credentials, decisions, holds and evidence are the pipeline's (connection-session.ts,
// command-runs.ts); adapters are registered once, in sidecar/protocols/registry.ts.
import type { Socket } from 'node:net';
import type { CommandFacts, Protocol, TargetSpec } from '../../core/vocabulary.js';
import type { OpeningVerdict } from '../capture/protocol-detection.js';
import type { ConnectionSession } from './connection-session.js';
import type { AdapterSettings, PipelineServices } from './pipeline-services.js';

export interface ProtocolAdapter {
  /** The policy's name for it (`targets[].protocol`). */
  readonly protocol: Protocol;
  /** Destination ports the injection captures for it by default. */
  readonly defaultPorts: readonly number[];
  /** Whether a captured client's first bytes are this protocol's (pure; asked before anything else). */
  detect(opening: Buffer): OpeningVerdict;
  /**
   * Its server speaks first (MySQL's greeting): a captured connection to one of its targets'
   * addresses is its own at once, without reading the client's opening (the client sends none).
   */
  readonly serverFirst?: boolean;
  /** ALPN ids its clients offer when they open with TLS directly: egress decides such TLS as this protocol. */
  readonly tlsAlpn?: readonly string[];
  /** Once per process, before the first connection (a grammar to compile, say). */
  init?(): Promise<void>;
  /** The inspector, as `policy check/test` runs it: one client command's text into facts. */
  inspect(text: string, target: string): CommandFacts[];
  /** The adapter's per-process state (cancel keys, catalog caches) over the shared services. */
  open(services: PipelineServices, settings: AdapterSettings): AdapterServer;
  /** Writes the refusal of a connection refused before any session, in the protocol's own terms; the caller ends it. */
  refuse(connection: Socket, message: string): void;
}

export interface AdapterServer {
  /** Drives one client connection to `target` until it closes, through the pipeline's `session`. */
  serve(connection: Socket, target: TargetSpec, session: ConnectionSession): void;
}
