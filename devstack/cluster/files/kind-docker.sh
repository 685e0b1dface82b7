#!/usr/bin/env bash
# The `docker` kind runs (first on its PATH, see devstack/cluster/kind.py). kind starts every node with
# --privileged and runs every `docker exec` with it; docker then asks for every capability, and on this kind of
# machine root's bounding set lacks CAP_SYS_RESOURCE, so it fails ("unable to apply caps: operation not
# permitted"). A node gets the closest equivalent instead: every other capability, no seccomp or AppArmor
# profile, writable /proc/sys (the kubelet sets kernel tunables), every device node allowed and /dev/kmsg (the
# kubelet's OOM watcher). Its image remounts the cgroup controllers read-write (files/node-entrypoint.sh). A
# host without /lib/modules (no loadable modules) does not get an empty one made for kind's read-only mount.
# Everything else goes to the real CLI unchanged.
set -euo pipefail
real="${ORDERFLOW_REAL_DOCKER:-/usr/bin/docker}"
command="${1:-}"
args=()
words=("$@")
for ((i = 0; i < ${#words[@]}; i++)); do
  arg="${words[i]}"
  case "$command:$arg" in
    run:--privileged)
      args+=(--cap-add ALL --cap-drop SYS_RESOURCE --security-opt systempaths=unconfined
             --device-cgroup-rule 'a *:* rwm' --device /dev/kmsg)
      ;;
    exec:--privileged) ;;
    run:--volume)
      next="${words[i + 1]:-}"
      if [[ "$next" == /lib/modules:* && ! -d /lib/modules ]]; then
        i=$((i + 1))
      else
        args+=("$arg")
      fi
      ;;
    *) args+=("$arg") ;;
  esac
done
exec "$real" "${args[@]}"
