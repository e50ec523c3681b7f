{{/* The chart name, or nameOverride. */}}
{{- define "paddock.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release-qualified name: the release name alone when it already contains the chart name. */}}
{{- define "paddock.fullname" -}}
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

{{/* The operator's objects: Deployment, ClusterRole, Lease... (paddock-operator for release "paddock"). */}}
{{- define "paddock.operatorName" -}}
{{- printf "%s-operator" (include "paddock.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "paddock.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Standard labels (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/). */}}
{{- define "paddock.labels" -}}
helm.sh/chart: {{ include "paddock.chart" . }}
{{ include "paddock.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: paddock
{{- end }}

{{/* Selector labels: stable across upgrades (Deployment selectors are immutable). */}}
{{- define "paddock.selectorLabels" -}}
app.kubernetes.io/name: {{ include "paddock.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "paddock.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "paddock.operatorName" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The served namespaces as a JSON list ("[]": cluster-wide mode). operator.watchNamespace is the
older one-namespace form of watchNamespaces.
*/}}
{{- define "paddock.watchNamespaces" -}}
{{- $list := .Values.watchNamespaces | default list }}
{{- with .Values.operator.watchNamespace }}
{{- if $list }}
{{- fail "set watchNamespaces or operator.watchNamespace (its older one-namespace form), not both" }}
{{- end }}
{{- $list = list . }}
{{- end }}
{{- $list | toJson }}
{{- end }}

{{- define "paddock.leaseName" -}}
{{- default (include "paddock.operatorName" .) .Values.leaderElection.leaseName }}
{{- end }}

{{- define "paddock.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
A file linked into files/ from the repository, parsed. Fails with an explanation when the link
was not followed (a checkout without symlinks, or a tool that drops them): the chart must then be
used packaged (`helm package charts/paddock` resolves the links).
*/}}
{{- define "paddock.repoFile" -}}
{{- $path := .path }}
{{- $content := .root.Files.Get $path }}
{{- if not $content }}
{{- fail (printf "%s is missing from the chart: charts/paddock/files links to the repository's crds/ and config/; use a checkout with symlinks or the packaged chart (helm package charts/paddock)" $path) }}
{{- end }}
{{- $content }}
{{- end }}

{{/* Checks that span several values (the schema checks each value alone). */}}
{{- define "paddock.validate" -}}
{{- $le := .Values.leaderElection }}
{{- if and (gt (int .Values.replicaCount) 1) (not $le.enabled) }}
{{- fail "replicaCount above 1 needs leaderElection.enabled: without a Lease every replica would reconcile" }}
{{- end }}
{{- if $le.enabled }}
{{- if ge (int $le.renewDeadlineSeconds) (int $le.leaseDurationSeconds) }}
{{- fail (printf "leaderElection.renewDeadlineSeconds (%d) must be less than leaderElection.leaseDurationSeconds (%d)" (int $le.renewDeadlineSeconds) (int $le.leaseDurationSeconds)) }}
{{- end }}
{{- if le (mul (int $le.renewDeadlineSeconds) 10) (mul (int $le.retryPeriodSeconds) 12) }}
{{- fail (printf "leaderElection.renewDeadlineSeconds (%d) must be greater than 1.2 x leaderElection.retryPeriodSeconds (%d)" (int $le.renewDeadlineSeconds) (int $le.retryPeriodSeconds)) }}
{{- end }}
{{- end }}
{{- if le (int .Values.terminationGracePeriodSeconds) (int .Values.operator.shutdownTimeoutSeconds) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be greater than operator.shutdownTimeoutSeconds (%d), or SIGKILL cuts in-flight reconciles and the Lease is not released" (int .Values.terminationGracePeriodSeconds) (int .Values.operator.shutdownTimeoutSeconds)) }}
{{- end }}
{{- end }}
