// Reads a claim by a dotted path: providers put groups at the top (`groups`) or nested
// (Keycloak's `realm_access.roles`). Only own properties of plain objects are followed.
export function claimAt(claims: Record<string, unknown>, path: string): unknown {
  let value: unknown = claims;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}
