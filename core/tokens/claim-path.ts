// Reads a claim by a dotted path: providers put groups at the top (`groups`) or nested
// (Keycloak's `realm_access.roles`), and Kubernetes names its claim with a dot in it
// (`kubernetes.io.namespace` is `namespace` under `kubernetes.io`). At each level the key spanning
// the most remaining path parts wins. Only own properties of plain objects are followed.
export function claimAt(claims: Record<string, unknown>, path: string): unknown {
  return follow(claims, path.split('.'));
}

function follow(value: unknown, parts: readonly string[]): unknown {
  if (parts.length === 0) return value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  for (let n = parts.length; n >= 1; n--) {
    const key = parts.slice(0, n).join('.');
    if (Object.hasOwn(value, key)) return follow((value as Record<string, unknown>)[key], parts.slice(n));
  }
  return undefined;
}
