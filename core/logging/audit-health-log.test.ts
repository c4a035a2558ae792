import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from './logger.js';
import { logAuditHealth } from './audit-health-log.js';
import { SecurityEvent } from './security-events.js';

test('one line when the trail becomes unhealthy and one when it recovers, none while it stays', () => {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'debug', sink: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const trail = { healthy: true, destination: 'https://collector.example/v1/traces' };
  const watch = logAuditHealth(trail, log, 60_000);
  try {
    watch.check();
    assert.equal(lines.length, 0, 'healthy from the start: nothing to say');
    trail.healthy = false;
    watch.check();
    watch.check();
    trail.healthy = true;
    watch.check();
    watch.check();
    assert.deepEqual(
      lines.map((l) => [l['event'], l['level'], l['destination']]),
      [
        [SecurityEvent.auditUnhealthy, 'error', trail.destination],
        [SecurityEvent.auditHealthy, 'info', trail.destination],
      ],
    );
  } finally {
    watch.stop();
  }
});
