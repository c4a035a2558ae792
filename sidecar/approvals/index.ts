// The sidecar's side of approvals: the hold client that turns the gate's hold request into a
// broker request (the broker itself is in broker/).
export { ApprovalClient, type ApprovalClientOptions, type HoldOptions, type HoldOutcome } from './hold-client.js';
