import { test } from 'node:test';
import assert from 'node:assert/strict';
import { repositoryRoot } from '../chart/repository-root.js';
import { importGraph } from './import-graph.js';
import { layerViolations } from './layering-rules.js';

test('the repository has no wrong-way import', () => {
  const edges = importGraph(repositoryRoot);
  // The graph is real: the runtime reaches the registry, the registry reaches the PostgreSQL adapter.
  assert.ok(edges.some((e) => e.from === 'sidecar/runtime/sidecar-runtime.ts' && e.to.startsWith('sidecar/')));
  const found = layerViolations(edges).map((v) => `${v.edge.from} → ${v.edge.to}: ${v.rule}`);
  assert.deepEqual(found, []);
});

test('a planted wrong-way import is reported, one per broken rule', () => {
  const planted = [
    { from: 'webhook/injection/inject-pod.ts', to: 'sidecar/pipeline/command-gate.ts' },
    { from: 'core/logging/logger.ts', to: 'policies/policy.ts' },
    { from: 'sidecar/pipeline/command-gate.ts', to: 'sidecar/protocols/postgres/wire.ts' },
    { from: 'sidecar/protocols/mysql/session.ts', to: 'sidecar/protocols/postgres/wire.ts' },
    { from: 'sidecar/runtime/sidecar-runtime.ts', to: 'sidecar/protocols/postgres/proxy-session.ts' },
    { from: 'core/audit/audit-trail.ts', to: 'test/support/otlp-receiver.ts' },
    { from: 'policies/policy.ts', to: 'sidecar/masking/index.ts' },
    { from: 'broker/server/broker-server.ts', to: 'sidecar/pipeline/command-gate.ts' },
    { from: 'sidecar/approvals/hold-client.ts', to: 'broker/store/approval-store.ts' },
    { from: 'exchange/server/exchange-server.ts', to: 'broker/server/http-json.ts' },
    { from: 'sidecar/identity/credential-source.ts', to: 'exchange/postgres/postgres-credential-issuer.ts' },
  ];
  const rules = layerViolations(planted).map((v) => v.rule);
  assert.equal(rules.length, planted.length);
  assert.equal(new Set(rules).size, planted.length);
});

test('allowed directions are not reported', () => {
  const allowed = [
    { from: 'sidecar/protocols/postgres/proxy-session.ts', to: 'sidecar/pipeline/command-gate.ts' },
    { from: 'sidecar/runtime/sidecar-runtime.ts', to: 'sidecar/protocols/registry.ts' },
    { from: 'webhook/admission/webhook-server.ts', to: 'core/logging/logger.ts' },
    { from: 'core/audit/audit-trail.test.ts', to: 'test/support/otlp-receiver.ts' },
    { from: 'core/tokens/token-verifier.test.ts', to: 'test/support/token-issuer.ts' },
    { from: 'cli/main.ts', to: 'webhook/cli/webhook-command.ts' },
    { from: 'sidecar/approvals/hold-client.ts', to: 'broker/api/broker-api-schema.ts' },
    { from: 'sidecar/runtime/sidecar-runtime.ts', to: 'broker/index.ts' },
    { from: 'exchange/server/exchange-server.ts', to: 'core/http/bounded-body.ts' },
    { from: 'cli/main.ts', to: 'exchange/cli/exchange-command.ts' },
    { from: 'sidecar/identity/credential-source.ts', to: 'exchange/protocol/credential-token.ts' },
  ];
  assert.deepEqual(layerViolations(allowed), []);
});
