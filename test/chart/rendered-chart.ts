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
export const RELEASE_NAMESPACE = 'sidegate-system';

export class RenderedChart {
  constructor(readonly objects: KubernetesObject[]) {}

  ofKind(kind: string): KubernetesObject[] {
    return this.objects.filter((o) => o.kind === kind);
  }

  /** The one object of a kind; fails when there is none or more than one. */
  one(kind: string): KubernetesObject {
    const found = this.ofKind(kind);
    if (found.length !== 1) throw new Error(`expected exactly one ${kind}, rendered ${found.length}`);
    return found[0]!;
  }

  kinds(): string[] {
    return this.objects.map((o) => o.kind).sort();
  }
}

/** Renders with `--set` expressions (`key=value`, `key={a,b}`); throws with helm's message when rendering fails. */
export function renderChart(settings: readonly string[] = []): RenderedChart {
  const result = runHelm(['template', RELEASE_NAME, chartDirectory, '--namespace', RELEASE_NAMESPACE, ...setArguments(settings)]);
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

export function setArguments(settings: readonly string[]): string[] {
  return settings.flatMap((expression) => ['--set', expression]);
}
