#!/bin/sh
# The part of the official image's entry point the chart relies on: initdb with POSTGRES_USER/POSTGRES_PASSWORD
# on an empty PGDATA, POSTGRES_DB, /docker-entrypoint-initdb.d/*.sql|*.sh once, then postgres on every address
# with password (scram-sha-256) authentication for TCP clients.
set -eu
if [ "${1:-postgres}" != postgres ]; then exec "$@"; fi
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
socket=/var/run/postgresql
# On every start, as the official image does: a volume's fsGroup ownership change (the kubelet's default on
# each mount) leaves the directory group-writable, and postgres refuses a data directory that is not 0700/0750.
mkdir -p "$PGDATA"
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp)
  printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=$socket" -w start
  if [ "$db" != postgres ]; then
    psql -v ON_ERROR_STOP=1 -h "$socket" -U "$user" -d postgres -c "CREATE DATABASE \"$db\""
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sql) echo "running $f"; psql -v ON_ERROR_STOP=1 -h "$socket" -U "$user" -d "$db" -f "$f" ;;
      *.sh) echo "running $f"; . "$f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop
  echo "PostgreSQL init process complete; ready for start up."
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories="$socket"
