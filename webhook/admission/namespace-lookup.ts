// Where the webhook learns a namespace's labels. In a cluster: one GET on the Kubernetes API with
// the webhook's own ServiceAccount token and CA (no client library: this is the only call we make).
// Without a cluster (local runs, the pod simulator): a static map from a YAML file.
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export interface NamespaceInfo {
  labels: Record<string, string>;
}
export type NamespaceLookup = (name: string, signal?: AbortSignal) => Promise<NamespaceInfo>;

export class NamespaceLookupError extends Error {
  override name = 'NamespaceLookupError';
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const MAX_RESPONSE_BYTES = 1024 * 1024;
const namespaceResponseSchema = z.object({
  kind: z.literal('Namespace'),
  metadata: z.object({ name: z.string(), labels: z.record(z.string(), z.string()).optional() }),
});

export interface InClusterOptions {
  /** Default: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT. */
  apiUrl?: string;
  tokenFile?: string;
  caFile?: string;
  env?: NodeJS.ProcessEnv;
}

export function inClusterApiUrl(env: NodeJS.ProcessEnv): string {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
  if (!host) throw new NamespaceLookupError('not running in a cluster (KUBERNETES_SERVICE_HOST is unset); pass --kube-api-url or --namespaces-file');
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function createInClusterNamespaceLookup(options: InClusterOptions = {}): NamespaceLookup {
  const apiUrl = new URL(options.apiUrl ?? inClusterApiUrl(options.env ?? process.env));
  if (apiUrl.protocol !== 'https:') throw new NamespaceLookupError(`the Kubernetes API URL must be https, got ${apiUrl.protocol}`);
  const tokenFile = options.tokenFile ?? `${SERVICE_ACCOUNT_DIR}/token`;
  const caFile = options.caFile ?? `${SERVICE_ACCOUNT_DIR}/ca.crt`;
  return async (name, signal) => {
    // Read on every call: the kubelet rotates the projected token and the CA bundle can change.
    const [token, ca] = await Promise.all([readFile(tokenFile, 'utf8'), readFile(caFile, 'utf8')]);
    const url = new URL(`/api/v1/namespaces/${encodeURIComponent(name)}`, apiUrl);
    const { status, body } = await getJson(url, token.trim(), ca, signal);
    if (status === 404) throw new NamespaceLookupError(`namespace ${name} does not exist`);
    if (status === 401 || status === 403) {
      throw new NamespaceLookupError(`the Kubernetes API refused to read namespace ${name} (HTTP ${status}); the webhook's ServiceAccount needs "get" on namespaces`);
    }
    if (status !== 200) throw new NamespaceLookupError(`the Kubernetes API answered HTTP ${status} for namespace ${name}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      throw new NamespaceLookupError(`the Kubernetes API sent a response for namespace ${name} that is not JSON`);
    }
    const namespace = namespaceResponseSchema.safeParse(parsed);
    if (!namespace.success) throw new NamespaceLookupError(`the Kubernetes API sent something other than a Namespace for ${name}`);
    return { labels: namespace.data.metadata.labels ?? {} };
  };
}

function getJson(url: URL, token: string, ca: string, signal?: AbortSignal): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', ca, headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, signal }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          req.destroy(new NamespaceLookupError('the Kubernetes API response is larger than 1 MiB'));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', (err) => reject(err instanceof NamespaceLookupError ? err : new NamespaceLookupError(`cannot reach the Kubernetes API: ${err.message}`)));
    req.end();
  });
}

/** A fixed map of namespace → labels; a namespace not listed has no labels. */
export function createStaticNamespaceLookup(namespaces: Record<string, Record<string, string>>): NamespaceLookup {
  return async (name) => ({ labels: { ...(namespaces[name] ?? {}) } });
}

const namespacesFileSchema = z.record(z.string(), z.record(z.string(), z.string()).nullable());

/** YAML: `namespace-name: { label: value, … }`. */
export async function loadNamespacesFile(file: string): Promise<NamespaceLookup> {
  let value: unknown;
  try {
    value = parseYaml(await readFile(file, 'utf8'));
  } catch (err) {
    throw new NamespaceLookupError(`${file}: ${(err as Error).message}`);
  }
  const parsed = namespacesFileSchema.safeParse(value ?? {});
  if (!parsed.success) throw new NamespaceLookupError(`${file}: expected a map of namespace name to a map of labels`);
  return createStaticNamespaceLookup(Object.fromEntries(Object.entries(parsed.data).map(([k, v]) => [k, v ?? {}])));
}
