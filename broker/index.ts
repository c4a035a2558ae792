// The approval broker: its API contract (api/), the store of requests (store/), the evidence of
// its decisions (evidence/), the HTTP service (server/) and the approvers' CLI (cli/). It imports nothing from the sidecar: sidecars reach it
// over HTTP, through the contract in api/.
export { ApprovalError, CONSUME_WINDOW_MS, type ApprovalStore, type ApprovalStoreOptions, type TransitionEvidence } from './store/approval-store.js';
export { AuditedTransitions } from './evidence/audited-transitions.js';
export { openApprovalStore, type ApprovalDatabase } from './store/open-approval-store.js';
export type { ApprovalRequirement, CiContext, VerifiedApprover, VerifiedRequester } from './api/parties.js';
export { staticAdminApprover, STATIC_ADMIN_ISSUER } from './server/static-admin-approver.js';
export {
  APPROVAL_STATUSES,
  type ApprovalParameter,
  type ApprovalRecord,
  type ApprovalRequest,
  type ApprovalStatus,
  type ApprovalVote,
  type FinalStatus,
} from './api/broker-api-schema.js';
export { isApprovalId } from './api/approval-id.js';
export { BrokerCallError } from './api/broker-http-client.js';
export { startApprovalBroker, MAX_WAIT_MS, type ApprovalBroker, type ApprovalBrokerOptions } from './server/broker-server.js';
export type { BrokerRole, BrokerTokens } from './server/bearer-auth.js';
export { runApprovalsCommand, APPROVALS_USAGE, type ApprovalsCliIo } from './cli/approvals-cli.js';
