{{/* The chart's name, shortened to a DNS label. */}}
{{- define "plumb.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: the release name when it already holds the chart's name. */}}
{{- define "plumb.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "plumb.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "plumb.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: plumb
{{- end }}

{{- define "plumb.selectorLabels" -}}
app.kubernetes.io/name: {{ include "plumb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "plumb.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "plumb.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding the API token. */}}
{{- define "plumb.tokenSecret" -}}
{{- default (printf "%s-token" (include "plumb.fullname" .)) .Values.token.existingSecret }}
{{- end }}

{{/* The Secret holding remote clusters' kubeconfigs, or nothing. */}}
{{- define "plumb.kubeconfigSecret" -}}
{{- if .Values.remoteClusters.existingSecret }}
{{- .Values.remoteClusters.existingSecret }}
{{- else if .Values.remoteClusters.kubeconfigs }}
{{- printf "%s-kubeconfigs" (include "plumb.fullname" .) }}
{{- end }}
{{- end }}

{{/* "true" when the config lists clusters: plumb serve watches that fleet, not --source. */}}
{{- define "plumb.fleet" -}}
{{- if .Values.config.clusters }}true{{ end }}
{{- end }}

{{- define "plumb.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* plumb.yaml: the config value with apiVersion and kind. */}}
{{- define "plumb.config" -}}
{{- $cfg := merge (dict "apiVersion" "plumb.dev/v1alpha1" "kind" "Config") (deepCopy .Values.config) }}
{{- toYaml $cfg }}
{{- end }}

{{/* The host names the Service gives plumb, for --allowed-host. */}}
{{- define "plumb.hosts" -}}
{{- $name := include "plumb.fullname" . }}
{{- $ns := .Release.Namespace }}
{{- $hosts := list $name (printf "%s.%s" $name $ns) (printf "%s.%s.svc" $name $ns) (printf "%s.%s.svc.%s" $name $ns .Values.clusterDomain) }}
{{- concat $hosts .Values.allowedHosts | uniq | join "," }}
{{- end }}

{{/*
plumb.rbacNamespaces: where plumb reads Secrets and writes (rbac.namespaces;
default the sources' namespace), as a JSON list.
*/}}
{{- define "plumb.rbacNamespaces" -}}
{{- if .Values.rbac.namespaces -}}
{{- toJson (uniq .Values.rbac.namespaces) -}}
{{- else -}}
{{- toJson (list (default .Release.Namespace .Values.sources.namespace)) -}}
{{- end -}}
{{- end }}
