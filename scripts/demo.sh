#!/usr/bin/env bash
# The main job on the built-in local testbed: bring up three hosts, deploy a
# sample 3-service stack on alpha, migrate it with its data to beta.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
node dist/src/cli/bin.js demo "$@"
