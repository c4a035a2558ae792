// YAML text → document, line index and plain value, with every failure as a positioned
// PolicyError. Shared by policy files and policy test-case files.
import { open } from 'node:fs/promises';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { PolicyError, issueAt } from './source-positions.js';

/**
 * Policy and case files are written by people: 1 MiB is far beyond any real one, and the bound
 * keeps a wrong path (a log file, a device) from being read or parsed at length.
 */
export const MAX_SOURCE_BYTES = 1024 * 1024;

export interface YamlSource {
  doc: Document;
  lines: LineCounter;
  value: unknown;
}

export function parseYamlSource(text: string, file: string): YamlSource {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_SOURCE_BYTES) throw tooLarge(file, bytes);
  const lines = new LineCounter();
  // uniqueKeys: a key written twice is an error, never "the last one wins".
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new PolicyError(doc.errors.map((e) => issueAt(file, lines, e.pos[0], e.message.split('\n')[0]!)));
  }
  try {
    // toJS bounds alias expansion (maxAliasCount) and throws when a document abuses it.
    return { doc, lines, value: doc.toJS({ maxAliasCount: 100 }) };
  } catch {
    throw new PolicyError([{ file, line: 1, column: 1, message: 'too many YAML alias expansions' }]);
  }
}

/** Reads at most MAX_SOURCE_BYTES + 1 bytes, so an oversized file is refused without loading it. */
export async function readYamlSource(path: string, what: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
    const buf = Buffer.alloc(MAX_SOURCE_BYTES + 1);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, filled, buf.length - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (filled === buf.length) throw tooLarge(path, filled);
    }
    return buf.subarray(0, filled).toString('utf8');
  } catch (err) {
    if (err instanceof PolicyError) throw err;
    throw new PolicyError([{ file: path, line: 0, column: 0, message: `cannot read ${what}: ${(err as NodeJS.ErrnoException).code ?? 'read failed'}` }]);
  } finally {
    await handle?.close();
  }
}

function tooLarge(file: string, bytes: number): PolicyError {
  return new PolicyError([{ file, line: 1, column: 1, message: `${bytes > MAX_SOURCE_BYTES ? `more than ${MAX_SOURCE_BYTES}` : bytes} bytes; the limit is ${MAX_SOURCE_BYTES}` }]);
}
