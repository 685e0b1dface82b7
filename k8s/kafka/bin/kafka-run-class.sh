#!/bin/sh
# java with the broker's class path and logging, like Kafka's own kafka-run-class.sh.
exec java ${KAFKA_HEAP_OPTS:--Xmx512m -Xms128m} -XX:+UseG1GC -Djava.awt.headless=true \
  -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.yaml ${KAFKA_OPTS:-} -cp '/opt/kafka/libs/*' "$@"
