// The volumes the patch adds. Every one is mounted only into sidegate's own containers: the
// projected token in particular must never be visible to runner containers, or a pipeline could
// present the sidecar's identity itself.
import type { Volume } from 'kubernetes-types/core/v1.js';
import type { InjectionConfig } from '../config/injection-config.js';
import { VOLUME_NAMES } from './pod-markers.js';
import { stateVolumeSizeLimit } from './audit-volume.js';

export function buildInjectedVolumes(config: InjectionConfig): Volume[] {
  const tokens = [{ serviceAccountToken: { audience: config.tokenAudience, expirationSeconds: config.tokenExpirationSeconds, path: 'token' } }];
  // The broker gets a token of its own audience, so it cannot replay the pod's identity token
  // (nor the identity token's verifier the broker's).
  if (config.brokerUrl) {
    tokens.push({ serviceAccountToken: { audience: config.brokerTokenAudience, expirationSeconds: config.tokenExpirationSeconds, path: 'broker-token' } });
  }
  // The exchange gets its own too: a token it receives is useless to the broker and the sidecar.
  if (config.exchangeUrl) {
    tokens.push({ serviceAccountToken: { audience: config.exchangeTokenAudience, expirationSeconds: config.tokenExpirationSeconds, path: 'exchange-token' } });
  }
  const volumes: Volume[] = [
    // No defaultMode: the kubelet then makes the token files owned by the sidecar's runAsUser, 0600.
    { name: VOLUME_NAMES.token, projected: { sources: tokens } },
    {
      name: VOLUME_NAMES.podinfo,
      // Labels and annotations carry the CI job's identity facts (job.runner.gitlab.com/*,
      // tekton.dev/*, actions.github.com/*); the downward API keeps them current.
      downwardAPI: {
        items: [
          { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
          { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
        ],
      },
    },
    { name: VOLUME_NAMES.policy, configMap: { name: config.policyConfigMap } },
    // The audit spool's volume: its limit follows the spool's bound (audit-volume.ts).
    { name: VOLUME_NAMES.state, emptyDir: { sizeLimit: stateVolumeSizeLimit(config) } },
    { name: VOLUME_NAMES.initTmp, emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
  ];
  if (config.credentialsSecret) {
    volumes.splice(3, 0, {
      name: VOLUME_NAMES.credentials,
      // Files are root-owned and the sidecar runs as a non-root uid, so they must be world-readable
      // inside the volume; only the sidecar container mounts it, which is what keeps it private.
      secret: { secretName: config.credentialsSecret, defaultMode: 0o444 },
    });
  }
  if (config.exchangeCaConfigMap) {
    volumes.push({ name: VOLUME_NAMES.exchangeCa, configMap: { name: config.exchangeCaConfigMap, items: [{ key: 'ca.crt', path: 'ca.crt' }] } });
  }
  // Only ca.crt: a missing key keeps the pod from starting rather than leaving the broker untrusted.
  if (config.brokerCaConfigMap) {
    volumes.push({ name: VOLUME_NAMES.brokerCa, configMap: { name: config.brokerCaConfigMap, items: [{ key: 'ca.crt', path: 'ca.crt' }] } });
  }
  // The operator's extra volumes (OTLP headers and CA, database CAs, a masking key): the sidecar
  // alone mounts them, like ours.
  volumes.push(...structuredClone(config.extraVolumes));
  return volumes;
}
