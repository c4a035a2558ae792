// The prometheus.io/* annotations an injected pod gets when the configuration asks for them, so a
// Prometheus that discovers pods by annotation scrapes the sidecar's admin port. A pod that
// already carries any prometheus.io/* annotation keeps its own: a pod has one such set, and the
// runner's owner chose it.
import type { InjectionConfig } from '../config/injection-config.js';

const PREFIX = 'prometheus.io/';

export function scrapeAnnotations(config: Pick<InjectionConfig, 'metricsScrapeAnnotations' | 'adminPort'>, existing: Readonly<Record<string, string>>): Record<string, string> {
  if (!config.metricsScrapeAnnotations) return {};
  if (Object.keys(existing).some((key) => key.startsWith(PREFIX))) return {};
  return { [`${PREFIX}scrape`]: 'true', [`${PREFIX}port`]: String(config.adminPort), [`${PREFIX}path`]: '/metrics' };
}
