{{/*
The app.kubernetes.io/name label is always "sidegate": the webhook recognises its own pods by
app.kubernetes.io/name=sidegate + app.kubernetes.io/component=webhook, and the
MutatingWebhookConfiguration's objectSelector excludes that name, so the injector can never be
asked to inject itself (with failurePolicy Fail that would be a deadlock).
*/}}
{{- define "sidegate.name" -}}
sidegate
{{- end -}}

{{/*
Object-name prefix: fullnameOverride, else "<release>-<nameOverride or sidegate>" (just the release
name if it already contains that). Names only: the app.kubernetes.io/name label stays "sidegate".
*/}}
{{- define "sidegate.fullname" -}}
{{- $name := default "sidegate" .Values.nameOverride -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
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

{{/* The webhook's ServiceAccount: serviceAccount.name, else the webhook's name (the schema requires a name when create is false). */}}
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

{{/* An image reference from {registry, repository, tag, digest}: the digest wins over the tag. */}}
{{- define "sidegate.imageReference" -}}
{{- $repository := .repository -}}
{{- if .registry }}{{ $repository = printf "%s/%s" .registry .repository }}{{ end -}}
{{- if .digest -}}
{{- printf "%s@%s" $repository .digest -}}
{{- else -}}
{{- printf "%s:%s" $repository .tag -}}
{{- end -}}
{{- end -}}

{{/* The image the webhook and the broker run. */}}
{{- define "sidegate.image" -}}
{{- $image := .Values.image -}}
{{- include "sidegate.imageReference" (dict "registry" $image.registry "repository" $image.repository "tag" (default .Chart.AppVersion $image.tag) "digest" $image.digest) -}}
{{- end -}}

{{/*
The injected containers' image: injection.image's fields, each empty one following image.*; the
digest follows image.digest only while repository and tag are not overridden (it names that image).
*/}}
{{- define "sidegate.sidecarImage" -}}
{{- $chart := .Values.image -}}
{{- $own := .Values.injection.image -}}
{{- $digest := $own.digest -}}
{{- if and (not $digest) (not $own.repository) (not $own.tag) }}{{ $digest = $chart.digest }}{{ end -}}
{{- include "sidegate.imageReference" (dict "registry" (default $chart.registry $own.registry) "repository" (default $chart.repository $own.repository) "tag" (default (default .Chart.AppVersion $chart.tag) $own.tag) "digest" $digest) -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "sidegate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "sidegate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sidegate
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of one component's objects, and the selector of its pods. Take (list $ "<component>"). */}}
{{- define "sidegate.componentLabels" -}}
{{ include "sidegate.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/*
A pod template's labels: the component's (with commonLabels), then podLabels, which cannot replace
them (the selectors and the webhook's own-pod rule depend on them). Takes (list $ "<component>" <podLabels>).
*/}}
{{- define "sidegate.podLabels" -}}
{{- $labels := include "sidegate.componentLabels" (list (index . 0) (index . 1)) | fromYaml -}}
{{- toYaml (merge $labels (index . 2 | default dict)) -}}
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
The sidecar mode the webhook injects: injection.sidecarMode, with "auto" resolved from the
cluster's version. Native sidecars (init containers with restartPolicy: Always) are on by default
from Kubernetes 1.29 (SidecarContainers beta); an older API server would drop the field and run
the sidecar as an init container that never exits, so the pod would never start.
*/}}
{{- define "sidegate.sidecarMode" -}}
{{- $mode := .Values.injection.sidecarMode -}}
{{- if eq $mode "auto" -}}
{{- if semverCompare ">=1.29.0-0" .Capabilities.KubeVersion.Version }}native{{ else }}classic{{ end -}}
{{- else -}}
{{- $mode -}}
{{- end -}}
{{- end -}}

{{/*
The webhook's --config file. Built from values.injection so that its keys are exactly the ones
webhook/config/injection-config.ts accepts (it rejects unknown keys); empty optional values are
left out because the webhook would reject "". When the sidecars call this release's broker, its
URL, its requester audience and (with chart-generated TLS) its CA ConfigMap are the defaults.
*/}}
{{- define "sidegate.injectionConfig" -}}
{{- $injection := .Values.injection -}}
{{- $config := omit $injection "image" "credentialsSecret" "brokerUrl" "brokerCaConfigMap" "brokerTokenAudience" "exchangeUrl" "exchangeCaConfigMap" "exchangeTokenAudience" "otlpEndpoint" "logLevel" -}}
{{- $_ := set $config "image" (include "sidegate.sidecarImage" .) -}}
{{- $_ := set $config "sidecarMode" (include "sidegate.sidecarMode" .) -}}
{{- $_ := set $config "policyConfigMap" .Values.policy.configMapName -}}
{{- $ownBroker := and .Values.broker.enabled (not $injection.brokerUrl) -}}
{{- if $injection.brokerUrl }}{{ $_ := set $config "brokerUrl" $injection.brokerUrl }}
{{- else if $ownBroker }}{{ $_ := set $config "brokerUrl" (include "sidegate.brokerUrl" .) }}{{ end -}}
{{- if $injection.brokerCaConfigMap }}{{ $_ := set $config "brokerCaConfigMap" $injection.brokerCaConfigMap }}
{{- else if and $ownBroker (not .Values.tls.certManager.enabled) }}{{ $_ := set $config "brokerCaConfigMap" .Values.broker.caConfigMapName }}{{ end -}}
{{- if $injection.brokerTokenAudience }}{{ $_ := set $config "brokerTokenAudience" $injection.brokerTokenAudience }}
{{- else if $ownBroker }}{{ $_ := set $config "brokerTokenAudience" .Values.broker.config.requesters.kubernetes.audience }}{{ end -}}
{{- with $injection.otlpEndpoint }}{{ $_ := set $config "otlpEndpoint" . }}{{ end -}}
{{- with $injection.logLevel }}{{ $_ := set $config "logLevel" . }}{{ end -}}
{{- /* Unset: "sidegate-credentials" while no exchange is in use (below), none with one. */ -}}
{{- with $injection.credentialsSecret }}{{ $_ := set $config "credentialsSecret" . }}{{ end -}}
{{- /* With exchange.enabled: exchangeUrl, exchangeCaConfigMap, exchangeTokenAudience (_exchange.tpl). */ -}}
{{- range $key := list "exchangeUrl" "exchangeCaConfigMap" "exchangeTokenAudience" }}{{ with (get $injection $key) }}{{ $_ := set $config $key . }}{{ end }}{{ end -}}
{{- /* merge keeps what is already set: an injection.exchange* value wins over this release's exchange. */ -}}
{{- $config = merge $config (include "sidegate.exchangeInjection" . | fromJson) -}}
{{- if and (not $config.credentialsSecret) (not $config.exchangeUrl) }}{{ $_ := set $config "credentialsSecret" "sidegate-credentials" }}{{ end -}}
{{- if and (eq $injection.auditExporter "otlp") (not $injection.otlpEndpoint) }}
{{- fail "injection.otlpEndpoint is empty, but injection.auditExporter is otlp (the default): set the collector's OTLP/HTTP URL, or injection.auditExporter=file to keep each pod's audit spans in the pod (deleted with it)" }}
{{- end -}}
{{- if and (eq $injection.auditExporter "file") $injection.otlpEndpoint }}
{{- fail "injection.auditExporter is file, but injection.otlpEndpoint is set: choose one" }}
{{- end -}}
{{- if and $config.brokerCaConfigMap (not $config.brokerUrl) }}
{{- fail "injection.brokerCaConfigMap is set, but no broker is: set injection.brokerUrl or broker.enabled" }}
{{- end -}}
{{- if eq ($config.brokerTokenAudience | default "sidegate-broker") $config.tokenAudience }}
{{- fail (printf "the broker's token audience %q equals injection.tokenAudience: one audience per relying party, so neither can replay the other's token" $config.tokenAudience) }}
{{- end -}}
{{- toYaml $config -}}
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

{{/*
A component's affinity: its podAntiAffinity spread (below), with the operator's affinity merged
over it (their nodeAffinity or podAffinity added; their podAntiAffinity replaces ours).
Takes (list $ "<component>" "<soft|hard>" <affinity>).
*/}}
{{- define "sidegate.affinity" -}}
{{- $spread := include "sidegate.podAntiAffinity" (list (index . 0) (index . 1) (index . 2)) | fromYaml -}}
{{- $affinity := deepCopy (index . 3 | default dict) -}}
{{- if not $affinity.podAntiAffinity }}{{ $_ := set $affinity "podAntiAffinity" $spread.podAntiAffinity }}{{ end -}}
{{- toYaml $affinity -}}
{{- end -}}

{{/*
topologySpreadConstraints as given; one without a labelSelector gets the component's pod selector,
which is what a constraint on these pods almost always means. Takes (list $ "<component>" <constraints>).
*/}}
{{- define "sidegate.topologySpreadConstraints" -}}
{{- $selector := include "sidegate.componentSelectorLabels" (list (index . 0) (index . 1)) | fromYaml -}}
{{- $constraints := list -}}
{{- range (index . 2) -}}
{{- $constraint := deepCopy . -}}
{{- if not $constraint.labelSelector }}{{ $_ := set $constraint "labelSelector" (dict "matchLabels" $selector) }}{{ end -}}
{{- $constraints = append $constraints $constraint -}}
{{- end -}}
{{- toYaml $constraints -}}
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

{{/*
The audiences whose tokens only the sidecar may hold, as JSON: the broker's and the exchange's
audience as the injection configuration resolves them (its defaults when unset) and
injection.extraControlPlaneAudiences — the list the webhook's own check reads from injection.yaml.
*/}}
{{- define "sidegate.controlPlaneAudiences" -}}
{{- $config := include "sidegate.injectionConfig" . | fromYaml -}}
{{- $audiences := list ($config.brokerTokenAudience | default "sidegate-broker") ($config.exchangeTokenAudience | default "sidegate-exchange") -}}
{{- range $config.extraControlPlaneAudiences }}{{ $audiences = append $audiences . }}{{ end -}}
{{- $audiences | uniq | sortAlpha | toJson -}}
{{- end -}}

{{/*
The validating webhook's CEL matchCondition: the pod projects a ServiceAccount token for one of
those audiences. Audiences compare as exact strings, as the API server mints them and the
services verify them. The JSON list is a CEL list literal (toJson escapes as CEL reads).
*/}}
{{- define "sidegate.controlPlaneTokenCondition" -}}
has(object.spec.volumes) && object.spec.volumes.exists(v, has(v.projected) && has(v.projected.sources) && v.projected.sources.exists(s, has(s.serviceAccountToken) && has(s.serviceAccountToken.audience) && s.serviceAccountToken.audience in {{ include "sidegate.controlPlaneAudiences" . }}))
{{- end -}}
