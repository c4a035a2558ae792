import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTraceparentHeader as parseTraceparent } from './trace-context.js';

test('a traceparent names a span; anything malformed names none', () => {
  const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
  const span = '00f067aa0ba902b7';
  assert.deepEqual(parseTraceparent(`00-${trace}-${span}-01`), { traceId: trace, spanId: span });
  assert.deepEqual(parseTraceparent(`01-${trace}-${span}-00-future`), { traceId: trace, spanId: span }, 'a later version may add fields');
  for (const bad of [undefined, '', `00-${trace}-${span}-01-extra`, `ff-${trace}-${span}-01`, `00-${'0'.repeat(32)}-${span}-01`, `00-${trace}-${'0'.repeat(16)}-01`, `00-${trace.toUpperCase()}-${span}-01`, `00-${trace}-${span}`]) {
    assert.equal(parseTraceparent(bad), undefined, String(bad));
  }
  assert.equal(parseTraceparent([`00-${trace}-${span}-01`]), undefined, 'a repeated header is not trusted');
});
