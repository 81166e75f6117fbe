#!/usr/bin/env bash
# Every test, from a fresh machine: dependencies, build, the real testbed
# (installs its Debian packages when run as root; the OpenZFS guests' image is
# built the first time and cached), type check, unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
echo "==> npm ci (its prepare step builds dist/)"
npm ci --no-audit --no-fund --loglevel=error
# The type check runs while the guests boot (mostly waiting on emulation).
typecheck_log=$(mktemp /tmp/docker-mcp-typecheck.XXXXXX)
npm run --silent typecheck >"$typecheck_log" 2>&1 &
typecheck=$!
echo "==> testbed up --guests"
node dist/src/cli/bin.js testbed up --guests
echo "==> type check"
typecheck_status=0
wait "$typecheck" || typecheck_status=$?
cat "$typecheck_log"
rm -f "$typecheck_log"
[ "$typecheck_status" -eq 0 ] || { echo "==> type check failed"; exit 1; }
echo "==> tests"
# The tests' migration journal and locks live apart from the user's own, and
# start empty: a run cut off mid-migration must not hold a lock over the next.
DOCKER_MCP_STATE_DIR=$(mktemp -d /tmp/docker-mcp-test-state.XXXXXX)
export DOCKER_MCP_STATE_DIR
trap 'rm -rf "$DOCKER_MCP_STATE_DIR"' EXIT
if [ "$#" -gt 0 ]; then
  # A chosen file or filter: one vitest, its files one after another.
  npx vitest run "$@"
else
  # A run killed earlier (by hand, a timeout) left its route keys, datasets
  # and stacks on the guests, and the guests' files check that nothing of a
  # route key is left: remove what is clearly a test's first.
  echo "==> testbed clean"
  node dist/src/cli/bin.js testbed clean
  # Two lanes side by side, each a vitest process running one file at a
  # time (vitest runs every project of a group with one worker count):
  #   guests: route-key (it checks that no route key is left on the guests,
  #     so nothing else may make one meanwhile; it needs only the guests),
  #     then the other guest files, then failover-openzfs, which cuts delta's
  #     power and so waits until the other lane is done (its files list
  #     every host, delta included);
  #   hosts: the testbed's own file first (it kills and restarts the
  #     container hosts' daemons, which some guest files use too: those wait
  #     for it), then the unit tests and the container hosts' files; last
  #     the container hosts' files that never reach delta (vitest.config.ts
  #     lists them), which failover-openzfs need not wait for.
  # Each lane leaves a marker when a step is done, failed or not, so the
  # other never waits for ever.
  markers=$(mktemp -d /tmp/docker-mcp-lanes.XXXXXX)
  trap 'rm -rf "$DOCKER_MCP_STATE_DIR" "$markers"' EXIT
  lane() {
    local name=$1
    shift
    npx vitest run "$@" 2>&1 | sed -u "s/^/[$name] /"
  }
  wait_for() {
    until [ -e "$markers/$1" ]; do sleep 2; done
  }
  guests_lane() {
    local status=0
    lane guests --project guests-first || status=$?
    wait_for testbed-done
    lane guests --project guests || status=$?
    wait_for hosts-done
    lane guests --project guests-last || status=$?
    return "$status"
  }
  guests_lane &
  guests_lane=$!
  hosts_status=0
  lane testbed --project testbed || hosts_status=$?
  touch "$markers/testbed-done"
  lane unit --project unit || hosts_status=$?
  lane hosts --project integration || hosts_status=$?
  touch "$markers/hosts-done"
  lane hosts --project integration-late || hosts_status=$?
  guests_status=0
  wait "$guests_lane" || guests_status=$?
  echo "==> lanes: unit and hosts exit $hosts_status, guests exit $guests_status"
  # An explicit exit: under set -e, a failing test in an && list (all but its
  # last command) would not end the script, and npm test would pass.
  if [ "$hosts_status" -ne 0 ] || [ "$guests_status" -ne 0 ]; then
    echo "==> tests failed after $((SECONDS - started)) s"
    exit 1
  fi
fi
echo "==> all tests done in $((SECONDS - started)) s"
