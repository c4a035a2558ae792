// The requests an approver may read: those they may decide (decision-rules.ts `maySee`). One place
// for the API's list, show and wait and for the page's list and detail, so neither front end can
// show more than the other. A hidden request answers exactly as an unknown id does — its rule,
// statement and parameters, and that it exists, are not the viewer's to learn. Without a verified
// approver (local mode's static admin token, who acts as anyone) nothing is hidden.
import type { VerifiedApprover } from '../api/parties.js';
import type { ApprovalRecord, ApprovalStatus } from '../api/broker-api-schema.js';
import { ApprovalError, type ApprovalStore } from '../store/approval-store.js';
import { maySee, superApprovers as superApproversOf, type SuperApprover } from '../store/decision-rules.js';

/**
 * How many records a filtered list reads to fill its page (the store lists pending oldest first,
 * decided newest first). Pending requests are bounded by maxPending (default 1000), so that list is
 * complete by default; beyond it, requests the viewer may not see can crowd out the newest they
 * may (a show by id still finds them). Filtering in SQL would need the group match there too.
 */
export const VISIBILITY_SCAN = 1000;

export interface VisibleApprovals {
  list(filter: { status?: ApprovalStatus | 'decided'; limit: number }, viewer: VerifiedApprover | undefined): Promise<ApprovalRecord[]>;
  /** The record, or the store's 404 for an unknown id when the viewer may not see it. */
  get(id: string, viewer: VerifiedApprover | undefined): Promise<ApprovalRecord>;
  /** Throws the unknown-id 404 unless the viewer may see request `id`. */
  check(id: string, viewer: VerifiedApprover | undefined): Promise<void>;
}

export function visibleApprovals(store: ApprovalStore, superApprovers: readonly SuperApprover[] = []): VisibleApprovals {
  const supers = superApproversOf(superApprovers);
  const visible = (record: ApprovalRecord, viewer: VerifiedApprover | undefined) => viewer === undefined || maySee(record, viewer, supers);
  const get = async (id: string, viewer: VerifiedApprover | undefined) => {
    const record = await store.get(id);
    if (!visible(record, viewer)) throw new ApprovalError(404, `no approval ${id}`);
    return record;
  };
  return {
    async list(filter, viewer) {
      if (viewer === undefined) return store.list(filter);
      const scanned = await store.list({ ...filter, limit: Math.max(filter.limit, VISIBILITY_SCAN) });
      return scanned.filter((r) => visible(r, viewer)).slice(0, filter.limit);
    },
    get,
    check: async (id, viewer) => {
      await get(id, viewer);
    },
  };
}
