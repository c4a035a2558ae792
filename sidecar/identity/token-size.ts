// One bound for every token the sidecar handles (presented by a client or read from the pod's
// token file). CI OIDC and ServiceAccount tokens are 1–3 KiB; anything near this bound is not a
// token we issued or trust, and refusing it early caps the work an attacker can make us do.
export const MAX_TOKEN_BYTES = 16 * 1024;
