// Injection captures by default exactly the ports of the protocols that have an adapter: a port
// captured without one would refuse or relay a runner's traffic for nothing, one left out would
// let a protocol sidegate guards walk around it. Three places say it (the webhook's default, the
// chart's values, `sidegate init`'s default) and cannot import the registry; this test holds them
// to it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { defaultCapturePorts } from '../../sidecar/protocols/registry.js';
import { defaultInjectionConfig } from '../../webhook/config/injection-config.js';
import { DEFAULT_INCLUDE_PORTS } from '../../sidecar/capture/init-command.js';
import { chartDirectory } from '../chart/repository-root.js';

test('the default capture ports are the registered adapters\' ports, everywhere', () => {
  const ports = defaultCapturePorts();
  assert.ok(ports.length > 0);
  assert.deepEqual([...(defaultInjectionConfig.includeOutboundPorts as number[])].sort((a, b) => a - b), ports, 'webhook default');
  assert.deepEqual(DEFAULT_INCLUDE_PORTS.split(',').map(Number).sort((a, b) => a - b), ports, 'sidegate init default');
  const values = parse(readFileSync(join(chartDirectory, 'values.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
  const chartPorts = Object.values(values).find((v) => v && typeof v === 'object' && 'includeOutboundPorts' in v)?.['includeOutboundPorts'];
  assert.deepEqual([...(chartPorts as number[])].sort((a, b) => a - b), ports, 'chart values');
});
