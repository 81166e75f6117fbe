#!/usr/bin/env bash
# The main job on the built-in local testbed: bring up three hosts, then
# discover what each can do. (Stack migration joins here when it lands.)
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
node dist/src/cli/bin.js testbed up
node dist/src/cli/bin.js hosts discover "$@"
