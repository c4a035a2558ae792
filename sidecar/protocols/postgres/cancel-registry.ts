// Maps the BackendKeyData sidegate gave each client to what a CancelRequest carrying it should
// reach: the upstream backend's own key (so a running query is cancelled there) and the session's
// hold (so a statement waiting for approval is cancelled here, not left for a later approval).
import type { TargetSpec } from '../../../core/vocabulary.js';

export interface CancelEntry {
  target: TargetSpec;
  processId: number;
  secretKey: number;
  /** Cancels the session's hold if one is in progress; true if it did (then nothing goes upstream). */
  cancelHold?: () => boolean;
}

export class CancelRegistry {
  private readonly sessions = new Map<string, CancelEntry>();
  register(processId: number, secretKey: number, entry: CancelEntry): void {
    this.sessions.set(`${processId}:${secretKey}`, entry);
  }
  lookup(processId: number, secretKey: number): CancelEntry | undefined {
    return this.sessions.get(`${processId}:${secretKey}`);
  }
  unregister(processId: number, secretKey: number): void {
    this.sessions.delete(`${processId}:${secretKey}`);
  }
  get size(): number {
    return this.sessions.size;
  }
}
