#!/usr/bin/env bash
# Installs, with apt, the Debian packages the local kind cluster (`orderflow k8s up`) runs on, only when
# something is missing: Debian's Docker engine (docker.io, which pulls in containerd and runc) under the kind
# nodes, mmdebstrap for the node image and the base images, iptables, iproute2, openssl for the bare API server's
# certificates, gcc with a static libc for the pause binary, and libseccomp-dev for runc's seccomp filter (the
# node's runc is built with cgo). Nothing is started here: there is no systemd, and `orderflow k8s up` starts
# containerd and dockerd itself (the postinst's "invoke-rc.d: policy-rc.d denied execution of start" is
# expected). CI runs this as root; elsewhere it uses sudo.
#
# `--check` only lists the missing packages (exit 1 if any). INSTALL_NODE_ROOT prefixes the fixed paths below
# (a test's fake file system).
set -euo pipefail

ROOT="${INSTALL_NODE_ROOT:-}"
# A command name is looked up on PATH plus the sbin folders (runc and iptables live in /usr/sbin or /usr/bin
# depending on the release); a path must exist exactly there.
declare -A NEEDED=(
    [containerd]=containerd
    [dockerd]=docker.io
    [docker]=docker.io
    [runc]=runc
    [mmdebstrap]=mmdebstrap
    [iptables]=iptables
    [ip]=iproute2
    [openssl]=openssl
    [gcc]=gcc
    [/usr/lib/x86_64-linux-gnu/libc.a]=libc6-dev
    [/usr/include/seccomp.h]=libseccomp-dev
    [pkg-config]=pkg-config
)

present() {
    if [[ "$1" == /* ]]; then
        [[ -e "$ROOT$1" ]]
    else
        PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v "$1" >/dev/null
    fi
}

missing=()
for program in "${!NEEDED[@]}"; do
    if ! present "$program"; then
        missing+=("${NEEDED[$program]}")
    fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-node: docker.io, containerd, runc, mmdebstrap, iptables, gcc, libseccomp-dev already present"
    exit 0
fi
# mmdebstrap only recommends what it uses to verify and unpack Debian's archives (gpg, libdpkg-perl, mount);
# ca-certificates holds the roots the base image copies.
if [[ " ${missing[*]} " == *" mmdebstrap "* ]]; then
    missing+=(gpg libdpkg-perl mount ca-certificates)
fi
mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
if [[ "${1:-}" == "--check" ]]; then
    echo "install-node: missing ${packages[*]}"
    exit 1
fi

SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
    SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update
"${SUDO[@]}" apt-get install -y --no-install-recommends "${packages[@]}"
echo "install-node: installed ${packages[*]}"
