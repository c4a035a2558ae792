{{/*
The app.kubernetes.io/name label is always "sidegate": the webhook recognises its own pods by
app.kubernetes.io/name=sidegate + app.kubernetes.io/component=webhook, and the
MutatingWebhookConfiguration's objectSelector excludes that name, so the injector can never be
asked to inject itself (with failurePolicy Fail that would be a deadlock).
*/}}
{{- define "sidegate.name" -}}
sidegate
{{- end -}}

{{/* Object-name prefix: "<release>-sidegate" (or just the release name if it contains "sidegate"). */}}
{{- define "sidegate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains "sidegate" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-sidegate" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "sidegate.webhookName" -}}
{{- printf "%s-webhook" (include "sidegate.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sidegate.tlsSecretName" -}}
{{- printf "%s-webhook-tls" (include "sidegate.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sidegate.injectionConfigMapName" -}}
{{- printf "%s-injection" (include "sidegate.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sidegate.serviceAccountName" -}}
{{- default (include "sidegate.webhookName" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* The DNS names a Service is reached by, as JSON; its serving certificate covers all. Takes (list $ "<service>"). */}}
{{- define "sidegate.serviceDnsNames" -}}
{{- $svc := index . 1 -}}
{{- $ns := (index . 0).Release.Namespace -}}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) | toJson -}}
{{- end -}}

{{/* The DNS names the API server uses to reach the webhook Service. */}}
{{- define "sidegate.webhookDnsNames" -}}
{{- include "sidegate.serviceDnsNames" (list . (include "sidegate.webhookName" .)) -}}
{{- end -}}

{{- define "sidegate.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "sidegate.sidecarImage" -}}
{{- $repository := default .Values.image.repository .Values.injection.image.repository -}}
{{- $tag := default (default .Chart.AppVersion .Values.image.tag) .Values.injection.image.tag -}}
{{- printf "%s:%s" $repository $tag -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "sidegate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "sidegate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sidegate
{{- end -}}

{{/* Labels of one component's objects, and the selector of its pods. Take (list $ "<component>"). */}}
{{- define "sidegate.componentLabels" -}}
{{ include "sidegate.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "sidegate.componentSelectorLabels" -}}
app.kubernetes.io/name: {{ include "sidegate.name" (index . 0) }}
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "sidegate.webhookLabels" -}}
{{ include "sidegate.componentLabels" (list . "webhook") }}
{{- end -}}

{{- define "sidegate.webhookSelectorLabels" -}}
{{ include "sidegate.componentSelectorLabels" (list . "webhook") }}
{{- end -}}

{{/*
The webhook's --config file. Built from values.injection so that its keys are exactly the ones
webhook/config/injection-config.ts accepts (it rejects unknown keys); empty optional values are
left out because the webhook would reject "". When the sidecars call this release's broker, its
URL, its requester audience and (with chart-generated TLS) its CA ConfigMap are the defaults.
*/}}
{{- define "sidegate.injectionConfig" -}}
{{- $injection := .Values.injection -}}
{{- $config := omit $injection "image" "brokerUrl" "brokerCaConfigMap" "brokerTokenAudience" "otlpEndpoint" -}}
{{- $_ := set $config "image" (include "sidegate.sidecarImage" .) -}}
{{- $_ := set $config "policyConfigMap" .Values.policy.configMapName -}}
{{- $ownBroker := and .Values.broker.enabled (not $injection.brokerUrl) -}}
{{- if $injection.brokerUrl }}{{ $_ := set $config "brokerUrl" $injection.brokerUrl }}
{{- else if $ownBroker }}{{ $_ := set $config "brokerUrl" (include "sidegate.brokerUrl" .) }}{{ end -}}
{{- if $injection.brokerCaConfigMap }}{{ $_ := set $config "brokerCaConfigMap" $injection.brokerCaConfigMap }}
{{- else if and $ownBroker (not .Values.tls.certManager.enabled) }}{{ $_ := set $config "brokerCaConfigMap" .Values.broker.caConfigMapName }}{{ end -}}
{{- if $injection.brokerTokenAudience }}{{ $_ := set $config "brokerTokenAudience" $injection.brokerTokenAudience }}
{{- else if $ownBroker }}{{ $_ := set $config "brokerTokenAudience" .Values.broker.config.requesters.kubernetes.audience }}{{ end -}}
{{- with $injection.otlpEndpoint }}{{ $_ := set $config "otlpEndpoint" . }}{{ end -}}
{{- /* With exchange.enabled: exchangeUrl, exchangeCaConfigMap, exchangeTokenAudience (_exchange.tpl). */ -}}
{{- $config = merge $config (include "sidegate.exchangeInjection" . | fromJson) -}}
{{- if and $config.brokerCaConfigMap (not $config.brokerUrl) }}
{{- fail "injection.brokerCaConfigMap is set, but no broker is: set injection.brokerUrl or broker.enabled" }}
{{- end -}}
{{- if eq ($config.brokerTokenAudience | default "sidegate-broker") $config.tokenAudience }}
{{- fail (printf "the broker's token audience %q equals injection.tokenAudience: one audience per relying party, so neither can replay the other's token" $config.tokenAudience) }}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}

{{/*
Pod-level pieces the webhook and the broker share: both run as uid/gid 7331, non-root, with a
read-only root filesystem, no capabilities and the runtime's default seccomp profile.
*/}}
{{- define "sidegate.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 7331
runAsGroup: 7331
fsGroup: 7331
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "sidegate.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 7331
runAsGroup: 7331
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Liveness on /healthz and readiness on /readyz, over HTTPS on the port named https. */}}
{{- define "sidegate.httpsProbes" -}}
livenessProbe:
  httpGet:
    path: /healthz
    port: https
    scheme: HTTPS
  periodSeconds: 10
  timeoutSeconds: 2
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: https
    scheme: HTTPS
  periodSeconds: 5
  timeoutSeconds: 2
  failureThreshold: 2
{{- end -}}

{{/* Spread replicas over nodes: "soft" (preferred) or "hard" (required). Takes (list $ "<component>" "<soft|hard>"). */}}
{{- define "sidegate.podAntiAffinity" -}}
{{- $selector := include "sidegate.componentSelectorLabels" (list (index . 0) (index . 1)) -}}
podAntiAffinity:
  {{- if eq (index . 2) "hard" }}
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: kubernetes.io/hostname
      labelSelector:
        matchLabels:
          {{- $selector | nindent 10 }}
  {{- else }}
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- $selector | nindent 12 }}
  {{- end }}
{{- end -}}

{{/*
A serving certificate made by the chart (no cert-manager): the Secret's data (ca.crt, tls.crt,
tls.key) as JSON. An existing Secret of that name is reused, so the CA stays what clients already
trust; `helm template` cannot look up and makes new material each time.
Takes (list $ "<secret name>" "<CA name>" "<common name>" <DNS names as JSON>).
*/}}
{{- define "sidegate.selfSignedTlsData" -}}
{{- $root := index . 0 -}}
{{- $existing := lookup "v1" "Secret" $root.Release.Namespace (index . 1) -}}
{{- $existingData := dig "data" dict $existing -}}
{{- if and (hasKey $existingData "ca.crt") (hasKey $existingData "tls.crt") (hasKey $existingData "tls.key") -}}
{{- pick $existingData "ca.crt" "tls.crt" "tls.key" | toJson -}}
{{- else -}}
{{- $days := int $root.Values.tls.selfSignedValidityDays -}}
{{- $ca := genCA (index . 2) $days -}}
{{- $cert := genSignedCert (index . 3) nil (index . 4 | fromJsonArray) $days $ca -}}
{{- dict "ca.crt" ($ca.Cert | b64enc) "tls.crt" ($cert.Cert | b64enc) "tls.key" ($cert.Key | b64enc) | toJson -}}
{{- end -}}
{{- end -}}

{{/* cert-manager's issuerRef for a serving certificate: tls.certManager.issuerRef, else the chart-made CA Issuer. */}}
{{- define "sidegate.certManagerIssuerRef" -}}
{{- $issuerRef := .Values.tls.certManager.issuerRef -}}
{{- if $issuerRef.name -}}
group: {{ $issuerRef.group | default "cert-manager.io" }}
kind: {{ $issuerRef.kind | default "Issuer" }}
name: {{ $issuerRef.name }}
{{- else -}}
group: cert-manager.io
kind: Issuer
name: {{ include "sidegate.fullname" . }}-ca
{{- end -}}
{{- end -}}

{{/*
cert-manager mode: a serving certificate for a Service, ECDSA P-256, rotated key, from
sidegate.certManagerIssuerRef. Takes (list $ "<name>" "<secret name>" "<component>" <DNS names as JSON>).
*/}}
{{- define "sidegate.servingCertificate" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: {{ $name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "sidegate.componentLabels" (list $root (index . 3)) | nindent 4 }}
spec:
  secretName: {{ index . 2 }}
  commonName: {{ printf "%s.%s.svc" $name $root.Release.Namespace }}
  dnsNames:
    {{- index . 4 | fromJsonArray | toYaml | nindent 4 }}
  duration: {{ $root.Values.tls.certManager.duration }}
  renewBefore: {{ $root.Values.tls.certManager.renewBefore }}
  usages:
    - server auth
    - digital signature
    - key encipherment
  privateKey:
    algorithm: ECDSA
    size: 256
    rotationPolicy: Always
  issuerRef:
    {{- include "sidegate.certManagerIssuerRef" $root | nindent 4 }}
{{- end -}}
