#!/bin/sh
# The kind node's entrypoint on a machine that cannot run privileged containers (root lacks CAP_SYS_RESOURCE,
# see kind-docker.sh): docker then mounts the cgroup controllers read-only, where kind's own entrypoint creates
# the kubelet's cgroups and systemd its scopes ("mkdir: cannot create directory '/sys/fs/cgroup/cpu//kubelet':
# Read-only file system"). Each is remounted read-write first (CAP_SYS_ADMIN allows it), then kind's entrypoint
# runs as it would anywhere.
set -eu
findmnt -rn -o TARGET -R /sys/fs/cgroup | while read -r target; do
  mount -o remount,bind,rw "$target"
done
exec "$@"
