// One Prometheus registry per process (sidecar, webhook, broker, exchange), never prom-client's
// global one: tests start several parts in one process, and each must expose only its own series.
// Node's process and runtime metrics keep their standard names (process_*, nodejs_*) so the usual
// dashboards work; sidegate's own series are named sidegate_* by the part that defines them.
import { collectDefaultMetrics, Registry } from 'prom-client';

export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
