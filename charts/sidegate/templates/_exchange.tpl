{{/* Names and files of the token exchange (docs/TOKEN-EXCHANGE.md). */}}
{{- define "sidegate.exchangeName" -}}
{{- printf "%s-exchange" (include "sidegate.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sidegate.exchangeTlsSecretName" -}}
{{- printf "%s-exchange-tls" (include "sidegate.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sidegate.exchangeServiceAccountName" -}}
{{- default (include "sidegate.exchangeName" .) .Values.exchange.serviceAccount.name -}}
{{- end -}}

{{- define "sidegate.exchangeDnsNames" -}}
{{- include "sidegate.serviceDnsNames" (list . (include "sidegate.exchangeName" .)) -}}
{{- end -}}

{{/* What the injected sidecars call: the exchange Service, which the certificate names. */}}
{{- define "sidegate.exchangeUrl" -}}
{{- printf "https://%s.%s.svc:443" (include "sidegate.exchangeName" .) .Release.Namespace -}}
{{- end -}}

{{/* Where the exchange exports its evidence; empty: the file on its spool volume only. */}}
{{- define "sidegate.exchangeOtlpEndpoint" -}}
{{- .Values.exchange.audit.otlpEndpoint | default .Values.injection.otlpEndpoint -}}
{{- end -}}

{{/* The exchange reads the cluster's issuer keys through the API server's discovery (with its own token). */}}
{{- define "sidegate.exchangeDiscovery" -}}
{{- $kubernetes := .Values.exchange.config.kubernetes -}}
{{- if and $kubernetes.enabled $kubernetes.discovery }}true{{ end -}}
{{- end -}}

{{/*
Every Secret key the exchange reads, as JSON: volume name → {secret, key, path}. Each is mounted
alone at the directory of its path (one key per directory under /secrets), so exchange.yaml
(sidegate.exchangeConfig) and the pod's volumes (exchange-deployment.yaml) name the same files.
The targets' admin passwords are the only long-lived secrets of the exchange.
*/}}
{{- define "sidegate.exchangeSecretFiles" -}}
{{- $files := dict -}}
{{- range $i, $target := .Values.exchange.config.targets -}}
{{- $_ := set $files (printf "target-%d-admin" $i) (dict "secret" $target.admin.existingSecret "key" $target.admin.key "path" (printf "/secrets/target-%d-admin/password" $i)) -}}
{{- with (dig "tls" "ca" "existingSecret" "" $target) -}}
{{- $_ := set $files (printf "target-%d-ca" $i) (dict "secret" . "key" $target.tls.ca.key "path" (printf "/secrets/target-%d-ca/ca.crt" $i)) -}}
{{- end -}}
{{- end -}}
{{- range $i, $issuer := .Values.exchange.config.issuers -}}
{{- with (dig "ca" "existingSecret" "" $issuer) -}}
{{- $_ := set $files (printf "issuer-%d-ca" $i) (dict "secret" . "key" $issuer.ca.key "path" (printf "/secrets/issuer-%d-ca/ca.crt" $i)) -}}
{{- end -}}
{{- end -}}
{{- toJson $files -}}
{{- end -}}

{{/*
exchange.yaml, built from values.exchange.config with exactly the keys
exchange/config/exchange-config.ts accepts (it rejects unknown keys); secrets appear only as the
paths of their mounted files.
*/}}
{{- define "sidegate.exchangeConfig" -}}
{{- $files := include "sidegate.exchangeSecretFiles" . | fromJson -}}
{{- $config := .Values.exchange.config -}}
{{- $issuers := list -}}
{{- with $config.kubernetes -}}
{{- if .enabled -}}
{{- $cluster := dict "issuer" .issuer "audience" .audience "kubernetes" true -}}
{{- if not .discovery }}{{ $_ := set $cluster "jwksUrl" .jwksUrl }}{{ end -}}
{{- $issuers = append $issuers $cluster -}}
{{- end -}}
{{- end -}}
{{- range $i, $issuer := $config.issuers -}}
{{- $entry := omit $issuer "ca" -}}
{{- with (get $files (printf "issuer-%d-ca" $i)) }}{{ $_ := set $entry "caFile" .path }}{{ end -}}
{{- $issuers = append $issuers $entry -}}
{{- end -}}
{{- $targets := list -}}
{{- range $i, $target := $config.targets -}}
{{- $entry := omit $target "admin" "tls" -}}
{{- $_ := set $entry "protocol" ($target.protocol | default "postgres") -}}
{{- $_ := set $entry "admin" (dict "username" $target.admin.username "passwordFile" (get $files (printf "target-%d-admin" $i)).path) -}}
{{- $tls := dict -}}
{{- with (dig "tls" "serverName" "" $target) }}{{ $_ := set $tls "serverName" . }}{{ end -}}
{{- with (get $files (printf "target-%d-ca" $i)) }}{{ $_ := set $tls "caFile" .path }}{{ end -}}
{{- $_ := set $entry "tls" $tls -}}
{{- $targets = append $targets $entry -}}
{{- end -}}
{{- $exchange := dict "issuers" $issuers "targets" $targets "grants" $config.grants -}}
{{- $_ := set $exchange "sweepInterval" $config.sweepInterval -}}
{{- $_ := set $exchange "maxConcurrent" $config.maxConcurrent -}}
{{- $_ := set $exchange "audit" (dict "stateDir" "/audit") -}}
{{- toYaml $exchange -}}
{{- end -}}

{{/*
What the injection configuration gets when the sidecars log in by exchange with this release's
exchange, as JSON (the webhook's exchangeUrl, exchangeCaConfigMap, exchangeTokenAudience); an
empty object when exchange.enabled is false. The pods' exchange token is minted for the audience
the exchange's cluster issuer verifies.
*/}}
{{- define "sidegate.exchangeInjection" -}}
{{- $out := dict -}}
{{- if .Values.exchange.enabled -}}
{{- $_ := set $out "exchangeUrl" (include "sidegate.exchangeUrl" .) -}}
{{- if not .Values.tls.certManager.enabled }}{{ $_ := set $out "exchangeCaConfigMap" .Values.exchange.caConfigMapName }}{{ end -}}
{{- $kubernetes := .Values.exchange.config.kubernetes -}}
{{- if $kubernetes.enabled -}}
{{- $_ := set $out "exchangeTokenAudience" $kubernetes.audience -}}
{{- if eq $kubernetes.audience .Values.injection.tokenAudience -}}
{{- fail (printf "exchange.config.kubernetes.audience %q equals injection.tokenAudience: one audience per relying party, so neither can replay the other's token" $kubernetes.audience) -}}
{{- end -}}
{{- if and .Values.broker.enabled (eq $kubernetes.audience .Values.broker.config.requesters.kubernetes.audience) -}}
{{- fail (printf "exchange.config.kubernetes.audience %q equals the broker's token audience: one audience per relying party" $kubernetes.audience) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}
