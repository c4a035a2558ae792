// RFC 6902 operations as the webhook emits them, and RFC 6901 pointer escaping. Annotation keys
// contain '/' (sidegate.dev/status), which must become '~1' or the API server patches the wrong path.
export type JsonPatchOperation =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'test'; path: string; value: unknown };

export function escapeJsonPointerSegment(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function jsonPointer(...segments: Array<string | number>): string {
  return segments.map((s) => '/' + escapeJsonPointerSegment(String(s))).join('');
}
