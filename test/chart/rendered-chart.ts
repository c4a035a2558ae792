// `helm template` of charts/sidegate, parsed into Kubernetes objects.
import { parseAllDocuments } from 'yaml';
import { runHelm } from './helm-binary.js';
import { chartDirectory } from './repository-root.js';

export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export const RELEASE_NAME = 'ci';

/** The least an enabled token exchange needs: one PostgreSQL target, one grant to the runners' ServiceAccounts. */
export const EXCHANGE_MINIMAL_VALUES: readonly string[] = [
  'exchange.enabled=true',
  'exchange.config.targets[0].name=orders',
  'exchange.config.targets[0].host=orders-db.example.com',
  'exchange.config.targets[0].database=orders',
  'exchange.config.targets[0].admin.username=sidegate_admin',
  'exchange.config.targets[0].admin.existingSecret=orders-exchange-admin',
  'exchange.config.targets[0].admin.key=password',
  'exchange.config.grants[0].name=ci-runners',
  'exchange.config.grants[0].issuer=https://kubernetes.default.svc.cluster.local',
  'exchange.config.grants[0].subject=system:serviceaccount:ci:*',
  'exchange.config.grants[0].target=orders',
  'exchange.config.grants[0].roles={orders_reader}',
  'exchange.config.grants[0].ttl=1h',
];
export const RELEASE_NAMESPACE = 'sidegate-system';

export class RenderedChart {
  constructor(readonly objects: KubernetesObject[]) {}

  /** Objects of a kind; with a component, only those labelled app.kubernetes.io/component=<component>. */
  ofKind(kind: string, component?: string): KubernetesObject[] {
    return this.objects.filter((o) => o.kind === kind && (component === undefined || o.metadata.labels?.['app.kubernetes.io/component'] === component));
  }

  /** The one object of a kind (and component); fails when there is none or more than one. */
  one(kind: string, component?: string): KubernetesObject {
    const found = this.ofKind(kind, component);
    if (found.length !== 1) throw new Error(`expected exactly one ${kind}${component ? ` of ${component}` : ''}, rendered ${found.length}`);
    return found[0]!;
  }

  /** A key of a rendered ConfigMap; fails when the ConfigMap or the key is missing. */
  configMapData(name: string, key: string, namespace = RELEASE_NAMESPACE): string {
    const configMap = this.ofKind('ConfigMap').find((c) => c.metadata.name === name && c.metadata.namespace === namespace);
    if (!configMap) throw new Error(`no ConfigMap ${namespace}/${name} rendered`);
    const value = (configMap as { data?: Record<string, unknown> }).data?.[key];
    if (typeof value !== 'string') throw new Error(`ConfigMap ${namespace}/${name} has no key ${key}`);
    return value;
  }

  kinds(): string[] {
    return this.objects.map((o) => o.kind).sort();
  }
}

/**
 * Renders with `--set` expressions (`key=value`, `key={a,b}`) and other helm flags (e.g.
 * `--kube-version 1.28.0`); throws with helm's message when rendering fails.
 */
export function renderChart(settings: readonly string[] = [], helmFlags: readonly string[] = []): RenderedChart {
  const result = runHelm(['template', RELEASE_NAME, chartDirectory, '--namespace', RELEASE_NAMESPACE, ...helmFlags, ...setArguments(settings)]);
  if (result.status !== 0) throw new Error(`helm template failed (${result.status}): ${result.stderr}`);
  const objects: KubernetesObject[] = [];
  for (const document of parseAllDocuments(result.stdout)) {
    if (document.errors.length > 0) throw new Error(`rendered YAML does not parse: ${document.errors[0]!.message}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue; // an empty document between `---`s
    objects.push(value as KubernetesObject);
  }
  return new RenderedChart(objects);
}

/**
 * The chart makes the operator choose where audit spans go (a collector by default, which needs
 * injection.otlpEndpoint). Tests that do not choose keep them in the pod, as before the choice.
 */
export const UNCHOSEN_AUDIT_EXPORTER = 'injection.auditExporter=file';

export function setArguments(settings: readonly string[]): string[] {
  const chooses = settings.some((s) => /^injection\.(otlpEndpoint|auditExporter)=/.test(s));
  return [...(chooses ? [] : [UNCHOSEN_AUDIT_EXPORTER]), ...settings].flatMap((expression) => ['--set', expression]);
}

/** Renders each named variant once, on first use; the tests of a file share the results. */
export function variantRenderer<Variant extends string>(variants: Record<Variant, readonly string[]>): (variant: Variant) => RenderedChart {
  const cache = new Map<Variant, RenderedChart>();
  return (variant) => {
    let chart = cache.get(variant);
    if (!chart) {
      chart = renderChart(variants[variant]);
      cache.set(variant, chart);
    }
    return chart;
  };
}
