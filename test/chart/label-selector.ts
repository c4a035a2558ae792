// Evaluates a Kubernetes LabelSelector (matchLabels + matchExpressions) the way the API server
// does, so the tests can ask "would the webhook be called for this pod/namespace?".
export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export function labelSelectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(labels, key);
    switch (operator) {
      case 'In':
        if (!present || !values.includes(labels[key]!)) return false;
        break;
      case 'NotIn':
        if (present && values.includes(labels[key]!)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        throw new Error(`unknown label selector operator ${String(operator)}`);
    }
  }
  return true;
}
