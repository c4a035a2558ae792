// The approvals part of sidegate: the broker (store + HTTP API), the sidecar's hold client, and
// the approvers' CLI.
export { ApprovalStore, ApprovalError, type ApprovalStoreOptions } from './approval-store.js';
export {
  APPROVAL_STATUSES,
  type ApprovalParameter,
  type ApprovalRecord,
  type ApprovalRequest,
  type ApprovalStatus,
  type FinalStatus,
} from './broker-api-schema.js';
export { isApprovalId } from './approval-id.js';
export { startApprovalBroker, MAX_WAIT_MS, type ApprovalBroker, type ApprovalBrokerOptions } from './broker-server.js';
export type { BrokerRole, BrokerTokens } from './bearer-auth.js';
export { ApprovalClient, type ApprovalClientOptions, type HoldOptions, type HoldOutcome } from './hold-client.js';
export { BrokerCallError } from './broker-http-client.js';
export { runApprovalsCommand, APPROVALS_USAGE, type ApprovalsCliIo } from './approvals-cli.js';
