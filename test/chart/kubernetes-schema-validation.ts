// Validates a rendered object against the Kubernetes (and cert-manager) OpenAPI schemas that
// kubernetes-models ships. A kind without a model here is an error: every rendered object must
// be checked.
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { MutatingWebhookConfiguration, ValidatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { Certificate, Issuer, ClusterIssuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import type { KubernetesObject } from './rendered-chart.js';

interface ValidatingModel {
  validate(): void;
}
type ModelConstructor = new (data: never) => ValidatingModel;

const modelsByApiVersionAndKind: Record<string, ModelConstructor> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': MutatingWebhookConfiguration,
  'admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration': ValidatingWebhookConfiguration,
  'cert-manager.io/v1/Certificate': Certificate,
  'cert-manager.io/v1/Issuer': Issuer,
  'cert-manager.io/v1/ClusterIssuer': ClusterIssuer,
};

/** Throws naming the object and the schema violation. */
export function validateAgainstKubernetesSchema(object: KubernetesObject): void {
  const key = `${object.apiVersion}/${object.kind}`;
  const Model = modelsByApiVersionAndKind[key];
  if (!Model) throw new Error(`${key} ${object.metadata?.name}: no schema to validate it against`);
  try {
    new Model(object as never).validate();
  } catch (err) {
    throw new Error(`${key} ${object.metadata.name}: ${(err as Error).message}`);
  }
}
