{{/* PostgreSQL: names, the password Secret, and each service's ORDERFLOW_DATABASE_URL. */}}

{{- define "orderflow.postgresql.name" -}}
{{- include "orderflow.componentName" (dict "root" . "suffix" "postgresql") -}}
{{- end -}}

{{- define "orderflow.postgresql.secretName" -}}
{{- .Values.postgresql.existingSecret | default (include "orderflow.postgresql.name" .) -}}
{{- end -}}

{{/* ORDERFLOW_DATABASE_URL: from the external Secret, or built from the dev PostgreSQL's password. Args: root, name. */}}
{{- define "orderflow.database.env" -}}
{{- $root := .root -}}
{{- if $root.Values.postgresql.enabled }}
- name: ORDERFLOW_DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "orderflow.postgresql.secretName" $root }}
      key: password
- name: ORDERFLOW_DATABASE_URL
  # $(VAR) is expanded by the kubelet from the variable above, so the password lives in one Secret only.
  value: {{ printf "postgresql+asyncpg://%s:$(ORDERFLOW_DATABASE_PASSWORD)@%s:5432/%s" $root.Values.postgresql.username (include "orderflow.postgresql.name" $root) .name | quote }}
{{- else }}
- name: ORDERFLOW_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $root.Values.database.existingSecret }}
      key: {{ .name }}-database-url
{{- end }}
{{- end -}}
