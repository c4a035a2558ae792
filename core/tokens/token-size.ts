// One bound for every token sidegate handles (presented by a client, read from the pod's token
// file, or an approver's bearer token). CI OIDC, ServiceAccount and ID tokens are 1–3 KiB; anything
// near this bound is not a token we issued or trust, and refusing it early caps the work an
// attacker can make us do.
export const MAX_TOKEN_BYTES = 16 * 1024;
