// One value, two places: the audit spool's bound (the sidecar's --audit-spool-max-bytes, above
// which it denies new commands) and the size limit of the emptyDir the spool lives on. The volume
// is the bound plus a fixed headroom, so sidegate fails closed before the kubelet would evict the
// pod for filling it: spans of commands already running still end after the bound is crossed, the
// spool rolls 8 MiB segments, and the volume also holds the quarantine and the sidecar's state files.
import type { InjectionConfig } from '../config/injection-config.js';
import { parseResourceQuantity } from './resource-quantity.js';

export const AUDIT_VOLUME_HEADROOM_BYTES = 32 * 2 ** 20;

/** The spool's bound in bytes (the configuration has checked the quantity). */
export function auditSpoolBytes(config: Pick<InjectionConfig, 'auditSpoolSize'>): number {
  const bytes = parseResourceQuantity('memory', config.auditSpoolSize);
  if (bytes === undefined) throw new Error(`auditSpoolSize ${JSON.stringify(config.auditSpoolSize)} is not a quantity`);
  return bytes;
}

/** The state volume's sizeLimit: the bound plus the headroom, in Mi when whole, else bytes. */
export function stateVolumeSizeLimit(config: Pick<InjectionConfig, 'auditSpoolSize'>): string {
  const bytes = auditSpoolBytes(config) + AUDIT_VOLUME_HEADROOM_BYTES;
  return bytes % 2 ** 20 === 0 ? `${bytes / 2 ** 20}Mi` : String(bytes);
}
