#!/usr/bin/env bash
# Every test, from a fresh machine: dependencies, build, the real testbed
# (installs its Debian packages when run as root), type check, unit and
# integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
echo "==> npm ci"
npm ci --no-audit --no-fund --loglevel=error
echo "==> build"
npm run --silent build
echo "==> testbed up"
node dist/src/cli/bin.js testbed up
echo "==> type check"
npm run --silent typecheck
echo "==> tests"
npx vitest run "$@"
echo "==> all tests done in $((SECONDS - started)) s"
