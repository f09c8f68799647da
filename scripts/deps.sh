#!/bin/sh
# Installs every Debian package the aios build and tests need.
# Idempotent: asks dpkg what is missing and installs only that; prints
# nothing when everything is already present.
set -eu

PKGS="build-essential cmake pkg-config git
libjansson-dev libsqlite3-dev libpcre2-dev libutf8proc-dev libyaml-dev
libmicrohttpd-dev libcurl4-openssl-dev libssl-dev libzstd-dev
libseccomp-dev bubblewrap
clang libclang-rt-14-dev clang-format python3 jq
prometheus"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
# Node.js and npm drive the end-to-end tests (the openai npm client). A
# NodeSource nodejs bundles npm and conflicts with Debian's npm package, so
# look for the commands rather than the packages.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "deps: need root (or sudo) to install:$missing" >&2; exit 1; }
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
# The Debian prometheus package starts a server on install; the tests only need promtool.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
echo "deps: done"
