#!/bin/sh
# server.properties from the KAFKA_* variables (apache/kafka's naming), storage formatted once, then the broker.
set -eu
config=/opt/kafka/config/server.properties
# Variables of the scripts themselves, not server properties.
env | grep '^KAFKA_' | grep -Ev '^KAFKA_(HEAP_OPTS|OPTS|VERSION)=' | while IFS= read -r line; do
  name=${line%%=*}
  value=${line#*=}
  key=$(printf '%s' "${name#KAFKA_}" | tr 'A-Z' 'a-z' | sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g')
  printf '%s=%s\n' "$key" "$value"
done > "$config"
log_dirs=$(sed -n 's/^log\.dirs=//p' "$config")
if [ ! -e "${log_dirs%%,*}/meta.properties" ]; then
  : "${CLUSTER_ID:?set CLUSTER_ID (22 characters of base64url, e.g. from kafka-storage random-uuid) to format storage}"
  /opt/kafka/bin/kafka-run-class.sh kafka.tools.StorageTool format --config "$config" --cluster-id "$CLUSTER_ID" \
    --ignore-formatted
fi
exec /opt/kafka/bin/kafka-run-class.sh kafka.Kafka "$config"
