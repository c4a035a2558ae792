export { ApprovalStore, ApprovalError, type ApprovalRecord, type ApprovalRequestInput, type ApprovalStatus } from './approval-store.js';
export { startApprovalBroker, type ApprovalBroker } from './broker-server.js';
export { ApprovalClient } from './hold-client.js';
export { runApprovalsCommand } from './approvals-cli.js';
