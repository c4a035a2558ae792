// The `event` field of every security-relevant log line: a small, stable vocabulary an operator
// can alert on and search by, independent of the human message beside it. docs/LOGGING.md lists
// each with its level and fields; a test keeps the two in step. Renaming one breaks someone's
// alert: add a new name instead.
export const SecurityEvent = {
  /** A client's login refused: bad or missing token, a refused setting, a bound exceeded. */
  loginRejected: 'login.rejected',
  /** A command denied by a rule (or by a built-in denial: audit unavailable, too large…). */
  commandDenied: 'command.denied',
  /** A command held for a human; the line names the approval id. */
  commandHeld: 'command.held',
  approvalApproved: 'approval.approved',
  approvalDenied: 'approval.denied',
  approvalExpired: 'approval.expired',
  /** Cancelled by the client (a cancel request) or at the broker. */
  approvalCancelled: 'approval.cancelled',
  /** The approval could not be requested (broker unreachable): the command is denied. */
  approvalUnavailable: 'approval.unavailable',
  /** An approval came back bound to other bytes than the held command's: denied. */
  approvalMismatched: 'approval.mismatched',
  /** The target refused sidegate's login or could not be reached. */
  upstreamFailed: 'upstream.failed',
  /** A session closed by sidegate because it could no longer read it as the target would. */
  sessionClosed: 'session.closed',
  /** A captured connection to a destination no target names, relayed untouched. */
  egressRelayed: 'egress.relayed',
  /** A captured connection to a destination no target names, refused. */
  egressRefused: 'egress.refused',
  /** A captured connection refused: a target's address in another protocol, or an unknown one. */
  connectionRefused: 'connection.refused',
  /** Transparent capture at its bound: new connections are closed until detection frees up. */
  captureOverloaded: 'capture.overloaded',
  /** The policy was read and passed the start-up checks. */
  policyLoaded: 'policy.loaded',
  /** The policy could not be read or failed the start-up checks: nothing starts. */
  policyRefused: 'policy.refused',
  /** A target credential issued by the token exchange (the exchange's line, and the sidecar's). */
  exchangeIssued: 'exchange.issued',
  /** A credential refused by the token exchange (the exchange's line, and the sidecar's). */
  exchangeRefused: 'exchange.refused',
  /** An issued credential revoked before its expiry (the exchange's line, and the sidecar's). */
  exchangeRevoked: 'exchange.revoked',
  /** The token exchange could not be reached, or failed to revoke. */
  exchangeUnavailable: 'exchange.unavailable',
  /** Expired credentials dropped by the exchange's sweeper. */
  exchangeSwept: 'exchange.swept',
  /** The audit trail cannot keep evidence: commands are denied until it recovers. */
  auditUnhealthy: 'audit.unhealthy',
  /** The audit trail keeps evidence again. */
  auditHealthy: 'audit.healthy',
  /** An approval decision refused at the broker because its evidence could not be recorded. */
  approvalUnrecorded: 'approval.unrecorded',
} as const;

export type SecurityEventName = (typeof SecurityEvent)[keyof typeof SecurityEvent];
