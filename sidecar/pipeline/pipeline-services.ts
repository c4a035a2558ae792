// What the pipeline is built from, once per process: the runtime assembles these and every
// protocol adapter's sessions share them. Narrow interfaces, so the pipeline can be exercised with
// a fake adapter alone (connection-session.test.ts).
import type tls from 'node:tls';
import type { MaskingRule, Principal } from '../../core/vocabulary.js';
import type { Logger } from '../../core/logging/logger.js';
import type { AuditTrail } from '../../core/audit/index.js';
import type { CredentialSource } from '../identity/credential-source.js';
import type { ClientIdentity } from './client-identity.js';
import type { CommandGate } from './command-gate.js';
import type { UnauthenticatedSlots } from './unauthenticated-slots.js';
import type { SidecarMetrics } from './sidecar-metrics.js';

export interface PipelineServices {
  gate: CommandGate;
  identity: Pick<ClientIdentity, 'resolve'>;
  credentials: CredentialSource;
  /** Sessions and commands become spans; nothing else of the trail is needed. */
  audit: Pick<AuditTrail, 'startSession' | 'healthy'>;
  /** Masking rules for (principal, target). */
  masking(principal: Principal, target: string): MaskingRule[];
  maskingKey?: Buffer;
  log: Logger;
  /** What /metrics counts; absent: nothing is counted. */
  metrics?: SidecarMetrics;
}

/** Limits and listeners' settings every adapter applies before a client is identified. */
export interface AdapterSettings {
  /** TLS toward clients that ask for it; absent → the adapter declines TLS. */
  clientTls?: tls.SecureContext;
  /** Bound on connections not yet authenticated, shared by every listener of the process. */
  unauthenticated?: UnauthenticatedSlots;
  /** From connect to an identified client. */
  authTimeoutMs?: number;
  /** `off`: commands are not parsed (benchmarks of the bare pipeline). */
  inspection?: 'on' | 'off';
  /** Largest command inspected; larger ones are refused. */
  maxStatementBytes?: number;
}
