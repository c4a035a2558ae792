// AdmissionReview v1 in and out, with no I/O: the server parses the body, looks the namespace up
// and calls these. Everything that can go wrong ends in an explicit answer: a malformed review is
// rejected (the server answers 400), an injection that cannot be made is denied with a message an
// operator can act on, or admitted unchanged only when the configuration says failureMode
// admit-unchanged; nothing fails open silently.
import { z } from 'zod';
import type { Pod } from 'kubernetes-types/core/v1.js';
import type { InjectionConfig } from '../config/injection-config.js';
import { injectPod, type InjectionInput, type InjectionResult } from '../injection/inject-pod.js';
import { validateControlPlaneTokens, validatePodUpdate, type TokenValidation } from '../validation/validate-control-plane-tokens.js';

const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

const admissionRequestSchema = z.object({
  uid: z.string().min(1),
  kind: z.object({ group: z.string(), version: z.string(), kind: z.string() }),
  resource: z.object({ group: z.string(), version: z.string(), resource: z.string() }).optional(),
  subResource: z.string().optional(),
  name: z.string().optional(),
  namespace: z.string().optional(),
  operation: z.string(),
  object: z.unknown().optional(),
  oldObject: z.unknown().optional(),
  dryRun: z.boolean().optional(),
});
const admissionReviewSchema = z.object({
  apiVersion: z.literal(ADMISSION_API_VERSION),
  kind: z.literal('AdmissionReview'),
  request: admissionRequestSchema,
});

export type AdmissionRequest = z.infer<typeof admissionRequestSchema>;

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  /** base64 of the JSON patch. */
  patch?: string;
  warnings?: string[];
  status?: { code: number; message: string; reason?: string };
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

export type ParsedAdmissionReview = { ok: true; request: AdmissionRequest } | { ok: false; error: string };

export function parseAdmissionReview(body: unknown): ParsedAdmissionReview {
  const result = admissionReviewSchema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    return { ok: false, error: `not an ${ADMISSION_API_VERSION} AdmissionReview request: ${issue.path.join('.') || '(root)'}: ${issue.message}` };
  }
  return { ok: true, request: result.data.request };
}

/** Only pod CREATE is ours to mutate; the webhook configuration should send nothing else. */
export function isPodCreate(request: AdmissionRequest): boolean {
  return (
    request.operation === 'CREATE' &&
    request.kind.group === '' &&
    request.kind.kind === 'Pod' &&
    (request.subResource === undefined || request.subResource === '')
  );
}

export interface ReviewContext {
  config: InjectionConfig;
  namespace: { name: string; labels: Record<string, string> };
  /** Replaceable in tests to exercise failureMode; production uses injectPod. */
  inject?: (input: InjectionInput) => InjectionResult;
}

/** The response to one request whose namespace is already known. */
export function reviewPodAdmission(request: AdmissionRequest, context: ReviewContext): AdmissionReviewResponse {
  if (!isPodCreate(request)) return wrap({ uid: request.uid, allowed: true });
  const pod = request.object;
  if (pod === null || typeof pod !== 'object' || Array.isArray(pod)) {
    return injectionFailed(request.uid, new Error('the request carries no pod object'), context.config);
  }
  let result: InjectionResult;
  try {
    result = (context.inject ?? injectPod)({
      pod: pod as Pod,
      namespace: context.namespace,
      config: context.config,
      operation: 'CREATE',
      dryRun: request.dryRun === true,
    });
  } catch (err) {
    return injectionFailed(request.uid, err, context.config);
  }
  switch (result.kind) {
    case 'skip':
      return wrap({ uid: request.uid, allowed: true });
    case 'deny':
      return wrap({ uid: request.uid, allowed: false, status: { code: 403, reason: 'Forbidden', message: `sidegate: ${result.reason}` } });
    case 'inject': {
      const response: AdmissionResponse = {
        uid: request.uid,
        allowed: true,
        patchType: 'JSONPatch',
        patch: Buffer.from(JSON.stringify(result.patch), 'utf8').toString('base64'),
      };
      if (result.warnings.length > 0) response.warnings = result.warnings;
      return wrap(response);
    }
  }
}

/**
 * The validating check's answer (POST /validate): a pod CREATE, a pod UPDATE and an update of a
 * pod's ephemeral containers are checked; anything else is not ours and is allowed. A request the
 * check cannot read, or a check that throws, is denied: this is enforcement, and failureMode
 * (which is about injection) does not apply.
 */
export function reviewPodValidation(request: AdmissionRequest, config: InjectionConfig): AdmissionReviewResponse {
  const isPod = request.kind.group === '' && request.kind.kind === 'Pod';
  const subResource = request.subResource ?? '';
  const checked =
    isPod && ((request.operation === 'CREATE' && subResource === '') || (request.operation === 'UPDATE' && (subResource === '' || subResource === 'ephemeralcontainers')));
  if (!checked) return wrap({ uid: request.uid, allowed: true });
  let result: TokenValidation;
  try {
    const pod = podObject(request.object, 'object');
    result = request.operation === 'CREATE' ? validateControlPlaneTokens(pod, config) : validatePodUpdate(podObject(request.oldObject, 'oldObject'), pod, config);
  } catch (err) {
    const cause = err instanceof Error ? err.message : String(err);
    return wrap({ uid: request.uid, allowed: false, status: { code: 500, reason: 'InternalError', message: `sidegate: could not check the pod's control-plane tokens (${cause}); the request was denied` } });
  }
  if (result.allowed) return wrap({ uid: request.uid, allowed: true });
  return wrap({
    uid: request.uid,
    allowed: false,
    status: {
      code: 403,
      reason: 'Forbidden',
      message: `sidegate: only sidegate's injected sidecar may hold a token for the broker or the token exchange: ${result.reasons.join('; ')}`,
    },
  });
}

function podObject(value: unknown, field: string): Pod {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`the request carries no pod in ${field}`);
  return value as Pod;
}

/**
 * When injection itself could not run (a bug, or the namespace could not be looked up): deny by
 * default, or admit the pod without the sidecar when the operator chose failureMode
 * admit-unchanged, with a warning so the admission is never silent.
 */
export function injectionFailed(uid: string, error: unknown, config: InjectionConfig): AdmissionReviewResponse {
  const cause = error instanceof Error ? error.message : String(error);
  if (config.failureMode === 'admit-unchanged') {
    return wrap({
      uid,
      allowed: true,
      warnings: [`sidegate: pod admitted WITHOUT the sidecar because injection failed (${cause}); its traffic is not captured (failureMode admit-unchanged)`],
    });
  }
  return wrap({
    uid,
    allowed: false,
    status: {
      code: 500,
      reason: 'InternalError',
      message: `sidegate: could not inject the sidecar (${cause}); the pod was denied because failureMode is deny. Check the sidegate webhook's logs and its access to namespaces, or set failureMode: admit-unchanged to admit pods without capture`,
    },
  });
}

function wrap(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}
