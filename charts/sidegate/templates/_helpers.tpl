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

{{/* The DNS names the API server uses to reach the webhook Service; the certificate covers all. */}}
{{- define "sidegate.webhookDnsNames" -}}
{{- $svc := include "sidegate.webhookName" . -}}
{{- $ns := .Release.Namespace -}}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns) | toJson -}}
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

{{/* Labels of the webhook's own objects, and the selector of its pods. */}}
{{- define "sidegate.webhookLabels" -}}
{{ include "sidegate.labels" . }}
app.kubernetes.io/component: webhook
{{- end -}}

{{- define "sidegate.webhookSelectorLabels" -}}
app.kubernetes.io/name: {{ include "sidegate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}

{{/*
The webhook's --config file. Built from values.injection so that its keys are exactly the ones
webhook/config/injection-config.ts accepts (it rejects unknown keys); empty optional URLs are
left out because the webhook would reject "".
*/}}
{{- define "sidegate.injectionConfig" -}}
{{- $config := omit .Values.injection "image" "brokerUrl" "otlpEndpoint" -}}
{{- $_ := set $config "image" (include "sidegate.sidecarImage" .) -}}
{{- $_ := set $config "policyConfigMap" .Values.policy.configMapName -}}
{{- with .Values.injection.brokerUrl }}{{ $_ := set $config "brokerUrl" . }}{{ end -}}
{{- with .Values.injection.otlpEndpoint }}{{ $_ := set $config "otlpEndpoint" . }}{{ end -}}
{{- toYaml $config -}}
{{- end -}}
