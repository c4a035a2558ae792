// Kubernetes resource quantities for the sidecar's per-pod annotations: read strictly (CPU as cores
// or millicores, memory as bytes with a decimal or binary suffix) and compared, so a request above
// its limit is refused by the webhook with the annotation named rather than by the API server.
export type ResourceKind = 'cpu' | 'memory';

const CPU = /^([0-9]+(?:\.[0-9]+)?)(m?)$/;
const MEMORY = /^([0-9]+)(k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const MEMORY_FACTORS: Record<string, number> = {
  '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** The quantity in millicores (cpu) or bytes (memory); undefined when it is not one, or is zero. */
export function parseResourceQuantity(kind: ResourceKind, text: string): number | undefined {
  const match = (kind === 'cpu' ? CPU : MEMORY).exec(text.trim());
  if (!match) return undefined;
  const amount = Number(match[1]);
  const value = kind === 'cpu' ? (match[2] === 'm' ? amount : amount * 1000) : amount * MEMORY_FACTORS[match[2] ?? '']!;
  // Below a millicore Kubernetes rounds up; a zero request or limit is never what was meant here.
  if (!Number.isFinite(value) || value <= 0 || (kind === 'cpu' && match[2] === 'm' && !Number.isInteger(amount))) return undefined;
  return value;
}

export const QUANTITY_EXAMPLES: Record<ResourceKind, string> = {
  cpu: 'cores or millicores such as 250m or 1.5',
  memory: 'bytes with a suffix such as 256Mi or 1Gi',
};
