// What the pipeline needs from the audit trail: sessions and commands as spans. Narrow on purpose
// so a protocol adapter can be tested against the real audit module or a file-backed one alike.
import type { Attributes } from './audit-attributes.js';

export interface AuditCommandLike {
  setAttributes(attrs: Attributes): void;
  addEvent(name: string, attrs?: Attributes): void;
  end(status?: { error?: string }): void;
}

export interface AuditSessionLike {
  setAttributes(attrs: Attributes): void;
  startCommand(name: string, attrs: Attributes): AuditCommandLike;
  end(status?: { error?: string }): void;
}

export interface AuditTrailLike {
  startSession(attrs: Attributes): AuditSessionLike;
  readonly healthy: boolean;
}
