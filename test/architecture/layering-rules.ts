// Which part of the house may import which. A rule names the importing files (a path prefix) and
// the prefixes they must not reach; the first rule whose `from` matches decides nothing else: every
// matching rule is checked. Kept as data so the rules read as the architecture doc's layer list.
import type { ImportEdge } from './import-graph.js';

export interface LayerRule {
  name: string;
  from: RegExp;
  mustNotImport: RegExp;
  /** Files the rule does not govern (a test of this very rule, say). */
  except?: RegExp;
}

const TEST_FILE = /(^test\/|\.test\.ts$)/;

export const LAYER_RULES: LayerRule[] = [
  // Its tests may start the test support's servers (a token issuer); production code never does (last rule).
  { name: 'core is the bottom layer: it imports nothing of ours above it', from: /^core\//, mustNotImport: /^((policies|sidecar|webhook|broker|exchange|cli)\/|test\/(?!support\/))/ },
  { name: 'the policy language knows no runtime', from: /^policies\//, mustNotImport: /^(sidecar|webhook|cli)\// },
  { name: 'the webhook imports nothing from the sidecar', from: /^webhook\//, mustNotImport: /^(sidecar|broker|exchange|cli)\// },
  { name: 'the broker imports nothing from the sidecar or the webhook', from: /^broker\//, mustNotImport: /^(sidecar|webhook|exchange|cli)\// },
  // The control plane's token exchange stands on core and the policy language alone.
  { name: 'the token exchange imports nothing from the sidecar, the webhook or the broker', from: /^exchange\//, mustNotImport: /^(sidecar|webhook|broker|cli)\// },
  { name: 'the sidecar reaches the broker through its API contract, or embeds it whole', from: /^sidecar\/(?!runtime\/)/, mustNotImport: /^broker\/(?!api\/)/, except: TEST_FILE },
  // Its credential source will read the issued credential by the exchange's wire contract; local mode may embed the whole exchange.
  { name: 'the sidecar reaches the token exchange through its wire contract, or embeds it whole', from: /^sidecar\/(?!runtime\/)/, mustNotImport: /^exchange\/(?!protocol\/)/, except: TEST_FILE },
  { name: 'the sidecar imports nothing from the webhook or the CLI entry', from: /^sidecar\//, mustNotImport: /^(webhook|cli)\// },
  {
    name: 'protocol-agnostic parts import no protocol adapter',
    from: /^sidecar\/(pipeline|identity|masking|approvals|admin|capture|egress)\//,
    mustNotImport: /^sidecar\/protocols\//,
  },
  { name: 'only the registry knows the adapters', from: /^sidecar\/(runtime|cli|local)\//, mustNotImport: /^sidecar\/protocols\/(?!registry\.ts$)/ },
  { name: 'production code imports no test code', from: /^(core|cli|policies|sidecar|webhook|broker|exchange)\//, mustNotImport: TEST_FILE, except: TEST_FILE },
];

/** Adapters are independent: one protocol's folder never imports another's. */
function crossAdapter(edge: ImportEdge): boolean {
  const a = /^sidecar\/protocols\/([^/]+)\//.exec(edge.from)?.[1];
  const b = /^sidecar\/protocols\/([^/]+)\//.exec(edge.to)?.[1];
  return a !== undefined && b !== undefined && a !== b;
}

export interface Violation {
  rule: string;
  edge: ImportEdge;
}

export function layerViolations(edges: readonly ImportEdge[], rules: readonly LayerRule[] = LAYER_RULES): Violation[] {
  const found: Violation[] = [];
  for (const edge of edges) {
    for (const rule of rules) {
      if (!rule.from.test(edge.from) || rule.except?.test(edge.from)) continue;
      if (rule.mustNotImport.test(edge.to)) found.push({ rule: rule.name, edge });
    }
    if (crossAdapter(edge)) found.push({ rule: 'one protocol adapter never imports another', edge });
  }
  return found;
}
