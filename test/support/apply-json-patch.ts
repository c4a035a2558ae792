// Applies an RFC 6902 patch the way the API server does, to prove in tests that the webhook's
// patches apply to the pods they were made for. Returns a new document; the input is never
// modified. Any failing operation throws, as the API server would reject the whole patch.
import type { JsonPatchOperation } from '../../webhook/injection/json-patch.js';

export class JsonPatchError extends Error {
  override name = 'JsonPatchError';
}

export function applyJsonPatch<T>(document: T, patch: readonly JsonPatchOperation[]): T {
  let root: unknown = structuredClone(document);
  for (const [index, operation] of patch.entries()) {
    try {
      root = applyOperation(root, operation);
    } catch (err) {
      throw new JsonPatchError(`operation ${index} (${operation.op} ${operation.path}): ${(err as Error).message}`);
    }
  }
  return root as T;
}

function applyOperation(root: unknown, operation: JsonPatchOperation): unknown {
  const segments = parsePointer(operation.path);
  if (segments.length === 0) {
    if (operation.op === 'remove') throw new Error('cannot remove the whole document');
    if (operation.op === 'test') {
      if (!deepEqual(root, operation.value)) throw new Error('test failed');
      return root;
    }
    return structuredClone(operation.value);
  }
  const parent = resolve(root, segments.slice(0, -1));
  const last = segments[segments.length - 1]!;
  if (Array.isArray(parent)) {
    const index = last === '-' && operation.op === 'add' ? parent.length : arrayIndex(last, parent.length, operation.op === 'add');
    switch (operation.op) {
      case 'add':
        parent.splice(index, 0, structuredClone(operation.value));
        break;
      case 'replace':
        parent[index] = structuredClone(operation.value);
        break;
      case 'remove':
        parent.splice(index, 1);
        break;
      case 'test':
        if (!deepEqual(parent[index], operation.value)) throw new Error('test failed');
    }
    return root;
  }
  if (parent === null || typeof parent !== 'object') throw new Error('parent is not an object or array');
  const object = parent as Record<string, unknown>;
  const exists = Object.prototype.hasOwnProperty.call(object, last);
  switch (operation.op) {
    case 'add':
      object[last] = structuredClone(operation.value);
      break;
    case 'replace':
      if (!exists) throw new Error(`member "${last}" does not exist`);
      object[last] = structuredClone(operation.value);
      break;
    case 'remove':
      if (!exists) throw new Error(`member "${last}" does not exist`);
      delete object[last];
      break;
    case 'test':
      if (!exists || !deepEqual(object[last], operation.value)) throw new Error('test failed');
  }
  return root;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error('a JSON pointer starts with "/"');
  return pointer.slice(1).split('/').map(unescapeJsonPointerSegment);
}

function resolve(root: unknown, segments: string[]): unknown {
  let current = root;
  for (const segment of segments) {
    if (Array.isArray(current)) current = current[arrayIndex(segment, current.length, false)];
    else if (current !== null && typeof current === 'object' && Object.prototype.hasOwnProperty.call(current, segment)) {
      current = (current as Record<string, unknown>)[segment];
    } else throw new Error(`path segment "${segment}" does not exist`);
  }
  return current;
}

function arrayIndex(segment: string, length: number, allowEnd: boolean): number {
  if (!/^(0|[1-9][0-9]*)$/.test(segment)) throw new Error(`"${segment}" is not an array index`);
  const index = Number(segment);
  if (index > length || (index === length && !allowEnd)) throw new Error(`index ${index} is out of bounds`);
  return index;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  const aKeys = Object.keys(a);
  const bRecord = b as Record<string, unknown>;
  return aKeys.length === Object.keys(b).length && aKeys.every((k) => k in bRecord && deepEqual((a as Record<string, unknown>)[k], bRecord[k]));
}

/** RFC 6901: the inverse of escapeJsonPointerSegment in json-patch.ts ('~1' first, then '~0'). */
function unescapeJsonPointerSegment(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}
