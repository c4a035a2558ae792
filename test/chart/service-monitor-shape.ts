// The shape of a monitoring.coreos.com/v1 ServiceMonitor as prometheus-operator's CRD defines the
// fields the chart renders (spec.selector, namespaceSelector, endpoints with port, scheme, path,
// interval, scrapeTimeout, tlsConfig), checked field by field. Stands in for a schema model until
// one is a dependency (@kubernetes-models/prometheus-operator): no kubernetes-models package here
// knows the CRD.
const ENDPOINT_KEYS = new Set(['port', 'scheme', 'path', 'interval', 'scrapeTimeout', 'tlsConfig']);
const TLS_KEYS = new Set(['ca', 'cert', 'keySecret', 'serverName', 'insecureSkipVerify']);
const DURATION = /^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$/;

interface ServiceMonitorLike {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, unknown> };
  spec?: {
    selector?: { matchLabels?: Record<string, unknown>; matchExpressions?: unknown[] };
    namespaceSelector?: { matchNames?: unknown[]; any?: boolean };
    endpoints?: Record<string, unknown>[];
  };
}

export class ServiceMonitorShape {
  constructor(private readonly object: ServiceMonitorLike) {}

  validate(): void {
    const { metadata, spec } = this.object;
    if (!metadata?.name || !metadata.namespace) throw new Error('metadata.name and metadata.namespace are required');
    for (const [k, v] of Object.entries(metadata.labels ?? {})) if (typeof v !== 'string') throw new Error(`metadata.labels.${k} must be a string`);
    if (!spec) throw new Error('spec is required');
    const selector = spec.selector;
    if (!selector || (selector.matchLabels === undefined && selector.matchExpressions === undefined)) throw new Error('spec.selector must select something');
    for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (typeof v !== 'string') throw new Error(`spec.selector.matchLabels.${k} must be a string`);
    const names = spec.namespaceSelector?.matchNames;
    if (names !== undefined && (!Array.isArray(names) || names.some((n) => typeof n !== 'string'))) throw new Error('spec.namespaceSelector.matchNames must be strings');
    if (!Array.isArray(spec.endpoints) || spec.endpoints.length === 0) throw new Error('spec.endpoints must list at least one endpoint');
    spec.endpoints.forEach((endpoint, i) => {
      const at = `spec.endpoints[${i}]`;
      for (const key of Object.keys(endpoint)) if (!ENDPOINT_KEYS.has(key)) throw new Error(`${at}.${key} is not a field the chart should render`);
      if (typeof endpoint['port'] !== 'string' || endpoint['port'] === '') throw new Error(`${at}.port must name a Service port`);
      if (endpoint['scheme'] !== undefined && endpoint['scheme'] !== 'http' && endpoint['scheme'] !== 'https') throw new Error(`${at}.scheme must be http or https`);
      if (endpoint['path'] !== undefined && !String(endpoint['path']).startsWith('/')) throw new Error(`${at}.path must start with /`);
      for (const key of ['interval', 'scrapeTimeout']) {
        if (endpoint[key] !== undefined && !DURATION.test(String(endpoint[key]))) throw new Error(`${at}.${key} must be a Prometheus duration`);
      }
      const tls = endpoint['tlsConfig'] as Record<string, unknown> | undefined;
      for (const key of Object.keys(tls ?? {})) if (!TLS_KEYS.has(key)) throw new Error(`${at}.tlsConfig.${key} is not a tlsConfig field`);
      const ca = tls?.['ca'] as { secret?: { name?: unknown; key?: unknown }; configMap?: { name?: unknown; key?: unknown } } | undefined;
      if (ca) {
        const ref = ca.secret ?? ca.configMap;
        if (!ref || typeof ref.name !== 'string' || typeof ref.key !== 'string' || (ca.secret && ca.configMap)) throw new Error(`${at}.tlsConfig.ca must name one Secret or ConfigMap key`);
      }
    });
  }
}
