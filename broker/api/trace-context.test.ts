import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TraceparentSchema, spanContextOf, traceparentOf } from './trace-context.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

test('a version-00 traceparent names its trace and span', () => {
  assert.deepEqual(spanContextOf(`00-${TRACE}-${SPAN}-01`), { traceId: TRACE, spanId: SPAN });
  assert.equal(traceparentOf({ traceId: TRACE, spanId: SPAN }), `00-${TRACE}-${SPAN}-01`);
});

test('anything else is refused: other versions, upper case, zero ids, wrong lengths, extra text', () => {
  for (const bad of [
    `01-${TRACE}-${SPAN}-01`,
    `00-${TRACE.toUpperCase()}-${SPAN}-01`,
    `00-${'0'.repeat(32)}-${SPAN}-01`,
    `00-${TRACE}-${'0'.repeat(16)}-01`,
    `00-${TRACE.slice(1)}-${SPAN}-01`,
    `00-${TRACE}-${SPAN}-01-extra`,
    ` 00-${TRACE}-${SPAN}-01`,
    '',
  ]) {
    assert.equal(spanContextOf(bad), undefined, bad);
    assert.equal(TraceparentSchema.safeParse(bad).success, false, bad);
  }
  assert.equal(traceparentOf({ traceId: 'x', spanId: SPAN }), undefined);
});
