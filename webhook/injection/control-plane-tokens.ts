// Which projected ServiceAccount tokens are control-plane tokens: those minted for the approval
// broker's or the token exchange's audience (and any further audience the configuration names).
// Whoever holds one speaks to that service as its pod — the exchange hands it the pod's database
// login — so only the genuine sidecar may. Audiences are compared as exact strings, as the API
// server mints them and as the services' verifiers (jose) and the chart's CEL condition compare
// them: "Sidegate-Exchange" is another audience, and a token for it is refused by the exchange.
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { InjectionConfig } from '../config/injection-config.js';

/** The audiences whose tokens only the sidecar may hold, sorted, without repeats. */
export function controlPlaneAudiences(config: InjectionConfig): string[] {
  return [...new Set([config.brokerTokenAudience, config.exchangeTokenAudience, ...config.extraControlPlaneAudiences])].sort();
}

/** The pod's volumes that project a token for a control-plane audience: volume name → those audiences. */
export function controlPlaneTokenVolumes(pod: Pod, config: InjectionConfig): Map<string, string[]> {
  const audiences = new Set(controlPlaneAudiences(config));
  const found = new Map<string, string[]>();
  for (const volume of pod.spec?.volumes ?? []) {
    for (const source of volume.projected?.sources ?? []) {
      const audience = source.serviceAccountToken?.audience;
      if (audience === undefined || !audiences.has(audience)) continue;
      found.set(volume.name, [...new Set([...(found.get(volume.name) ?? []), audience])]);
    }
  }
  return found;
}

/** Whether injection gives the sidecar a control-plane token (a broker or an exchange is configured). */
export function injectsControlPlaneToken(config: InjectionConfig): boolean {
  return config.brokerUrl !== undefined || config.exchangeUrl !== undefined;
}
