#!/bin/sh
# Installs the pinned npm packages the end-to-end tests use (tests/e2e),
# from package-lock.json, only when they are missing.
set -eu
cd "$(dirname "$0")/../tests/e2e"
[ -f package.json ] || exit 0
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
