#!/usr/bin/env bash
# Every test, from a fresh machine: dependencies, build, the real testbed
# (installs its Debian packages when run as root; the OpenZFS guests' image is
# built the first time and cached), type check, unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
echo "==> npm ci (its prepare step builds dist/)"
npm ci --no-audit --no-fund --loglevel=error
echo "==> testbed up --guests"
node dist/src/cli/bin.js testbed up --guests
echo "==> type check"
npm run --silent typecheck
echo "==> tests"
# The tests' migration journal and locks live apart from the user's own, and
# start empty: a run cut off mid-migration must not hold a lock over the next.
DOCKER_MCP_STATE_DIR=$(mktemp -d /tmp/docker-mcp-test-state.XXXXXX)
export DOCKER_MCP_STATE_DIR
trap 'rm -rf "$DOCKER_MCP_STATE_DIR"' EXIT
npx vitest run "$@"
echo "==> all tests done in $((SECONDS - started)) s"
