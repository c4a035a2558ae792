import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diag } from '@opentelemetry/api';
import { createLogger } from '../logging/logger.js';
import { redact, routeOtelDiagnostics } from './otel-diagnostics.js';

test('OpenTelemetry diagnostics reach our logger, warnings and up, without URL credentials or span data', () => {
  const lines: Record<string, unknown>[] = [];
  routeOtelDiagnostics(createLogger({ level: 'debug', sink: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }));
  try {
    diag.debug('items to be sent', { name: 'SELECT secret_column' });
    diag.warn('Export failed for https://user:hunter2@collector:4318/v1/traces', new Error('Bearer abc.def.ghi rejected'), { body: 'span data' });
    diag.error('boom');
    assert.deepEqual(lines.map((l) => [l['level'], l['msg']]), [
      ['warn', 'opentelemetry: Export failed for https://…@collector:4318/v1/traces'],
      ['error', 'opentelemetry: boom'],
    ]);
    assert.equal(lines[0]!['detail'], 'Error: Bearer … rejected');
    assert.ok(!JSON.stringify(lines).includes('hunter2') && !JSON.stringify(lines).includes('span data'));
  } finally {
    diag.disable();
  }
});

test('redact leaves plain text alone', () => {
  assert.equal(redact('collector answered 503 at http://collector:4318/v1/traces'), 'collector answered 503 at http://collector:4318/v1/traces');
});
