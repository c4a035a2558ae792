{{/* Names and files of the approval broker (docs/BROKER.md). */}}
{{- define "sidegate.brokerName" -}}
{{- printf "%s-broker" (include "sidegate.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sidegate.brokerTlsSecretName" -}}
{{- printf "%s-broker-tls" (include "sidegate.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sidegate.brokerServiceAccountName" -}}
{{- default (include "sidegate.brokerName" .) .Values.broker.serviceAccount.name -}}
{{- end -}}

{{- define "sidegate.brokerSessionSecretName" -}}
{{- default (printf "%s-broker-session" (include "sidegate.fullname" .) | trunc 63 | trimSuffix "-") .Values.broker.session.existingSecret -}}
{{- end -}}

{{- define "sidegate.brokerDnsNames" -}}
{{- include "sidegate.serviceDnsNames" (list . (include "sidegate.brokerName" .)) -}}
{{- end -}}

{{/* What the injected sidecars call: the broker Service, which the certificate names. */}}
{{- define "sidegate.brokerUrl" -}}
{{- printf "https://%s.%s.svc:443" (include "sidegate.brokerName" .) .Release.Namespace -}}
{{- end -}}

{{/* Where the broker exports the evidence of its decisions; empty: its spool's file only. */}}
{{- define "sidegate.brokerOtlpEndpoint" -}}
{{- .Values.broker.audit.otlpEndpoint | default .Values.injection.otlpEndpoint -}}
{{- end -}}

{{- define "sidegate.brokerEmbedded" -}}
{{- if eq .Values.broker.store.kind "embedded" }}true{{ end -}}
{{- end -}}

{{/*
Every Secret key the broker reads, as JSON: volume name → {secret, key, path}. Each is mounted
alone at the directory of its path, so broker.yaml (sidegate.brokerConfig) and the pod's volumes
(broker-workload.yaml) name the same files.
*/}}
{{- define "sidegate.brokerSecretFiles" -}}
{{- $config := .Values.broker.config -}}
{{- $files := dict "session" (dict "secret" (include "sidegate.brokerSessionSecretName" .) "key" .Values.broker.session.key "path" "/secrets/session/session-secret") -}}
{{- if not (include "sidegate.brokerEmbedded" .) -}}
{{- $postgres := .Values.broker.store.postgres -}}
{{- $_ := set $files "store" (dict "secret" $postgres.existingSecret "key" $postgres.key "path" "/secrets/store/connection-string") -}}
{{- if $postgres.ca.existingSecret -}}
{{- $_ := set $files "store-ca" (dict "secret" $postgres.ca.existingSecret "key" $postgres.ca.key "path" "/secrets/store-ca/ca.crt") -}}
{{- end -}}
{{- end -}}
{{- range $i, $issuer := $config.approvers.oidc -}}
{{- with $issuer.clientSecret -}}
{{- $_ := set $files (printf "oidc-%d" $i) (dict "secret" .existingSecret "key" .key "path" (printf "/secrets/oidc-%d/client-secret" $i)) -}}
{{- end -}}
{{- with $issuer.ca -}}
{{- $_ := set $files (printf "oidc-%d-ca" $i) (dict "secret" .existingSecret "key" .key "path" (printf "/secrets/oidc-%d-ca/ca.crt" $i)) -}}
{{- end -}}
{{- end -}}
{{- with $config.notifications.slack.existingSecret -}}
{{- $_ := set $files "slack" (dict "secret" . "key" $config.notifications.slack.key "path" "/secrets/slack/webhook-url") -}}
{{- end -}}
{{- range $i, $hook := $config.notifications.webhooks -}}
{{- $_ := set $files (printf "webhook-%d" $i) (dict "secret" $hook.existingSecret "key" $hook.key "path" (printf "/secrets/webhook-%d/secret" $i)) -}}
{{- end -}}
{{- toJson $files -}}
{{- end -}}

{{/*
broker.yaml, built from values.broker with exactly the keys broker/config/broker-config.ts
accepts (it rejects unknown keys); secrets appear only as the paths of their mounted files.
*/}}
{{- define "sidegate.brokerConfig" -}}
{{- $files := include "sidegate.brokerSecretFiles" . | fromJson -}}
{{- $config := .Values.broker.config -}}
{{- $publicUrl := $config.publicUrl | default (printf "https://%s.%s.svc" (include "sidegate.brokerName" .) .Release.Namespace) -}}
{{- $store := dict "kind" "embedded" "dataDir" "/data" -}}
{{- if not (include "sidegate.brokerEmbedded" .) -}}
{{- $store = dict "kind" "postgres" "connectionFile" $files.store.path "maxConnections" .Values.broker.store.postgres.maxConnections -}}
{{- with (get $files "store-ca") }}{{ $_ := set $store "caFile" .path }}{{ end -}}
{{- end -}}
{{- $kubernetes := omit $config.requesters.kubernetes "jwksUrl" -}}
{{- with $config.requesters.kubernetes.jwksUrl }}{{ $_ := set $kubernetes "jwksUrl" . }}{{ end -}}
{{- $oidc := list -}}
{{- range $i, $issuer := $config.approvers.oidc -}}
{{- $entry := omit $issuer "clientSecret" "ca" -}}
{{- with (get $files (printf "oidc-%d" $i)) }}{{ $_ := set $entry "clientSecretFile" .path }}{{ end -}}
{{- with (get $files (printf "oidc-%d-ca" $i)) }}{{ $_ := set $entry "caFile" .path }}{{ end -}}
{{- $oidc = append $oidc $entry -}}
{{- end -}}
{{- $notifications := dict "webhooks" list -}}
{{- with $files.slack }}{{ $_ := set $notifications "slack" (dict "webhookUrlFile" .path) }}{{ end -}}
{{- range $i, $hook := $config.notifications.webhooks -}}
{{- $entry := dict "url" $hook.url "secretFile" (get $files (printf "webhook-%d" $i)).path -}}
{{- with $hook.events }}{{ $_ := set $entry "events" . }}{{ end -}}
{{- $_ := set $notifications "webhooks" (append $notifications.webhooks $entry) -}}
{{- end -}}
{{- $broker := dict "publicUrl" $publicUrl "store" $store "requesters" (dict "kubernetes" $kubernetes) -}}
{{- $_ := set $broker "approvers" (dict "oidc" $oidc "superApprovers" $config.approvers.superApprovers) -}}
{{- $_ := set $broker "notifications" $notifications -}}
{{- $_ := set $broker "session" (dict "secretFile" $files.session.path) -}}
{{- $_ := set $broker "audit" (dict "stateDir" "/audit") -}}
{{- $_ := set $broker "maxPending" $config.maxPending -}}
{{- $_ := set $broker "maxTimeout" $config.maxTimeout -}}
{{- toYaml $broker -}}
{{- end -}}
