import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { SecurityEvent } from './security-events.js';

const LOGGING_DOC = new URL('../../../docs/LOGGING.md', import.meta.url);

test('event names are distinct, lower-case and dotted', () => {
  const names = Object.values(SecurityEvent);
  assert.equal(new Set(names).size, names.length);
  for (const name of names) assert.match(name, /^[a-z]+\.[a-z]+$/);
});

test('docs/LOGGING.md has a row for every event, and no row for an event that does not exist', async () => {
  const doc = await readFile(LOGGING_DOC, 'utf8');
  const rows = [...doc.matchAll(/^\| `([a-z]+\.[a-z]+)` \|/gm)].map((m) => m[1]!);
  assert.deepEqual([...rows].sort(), [...Object.values(SecurityEvent)].sort());
});
