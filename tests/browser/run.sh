#!/usr/bin/env bash
# The dashboard's browser test: builds the gateway, installs playwright-core (pinned in
# package.json; it drives the system Chromium and downloads no browser) and runs
# dashboard.test.mjs with node's test runner. Screenshots land in test-output/.
#
# Needs Node.js >= 20 and Debian's chromium (`apt-get install -y chromium`). Set
# SKIP_BROWSER_TEST=1 to skip it on a machine without them; CI installs them and never skips.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ "${SKIP_BROWSER_TEST:-}" == 1 ]]; then
    echo "browser test skipped (SKIP_BROWSER_TEST=1)"
    exit 0
fi
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$CHROMIUM" && "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium for the browser test"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [[ ! -x "$CHROMIUM" ]] || ! command -v node >/dev/null; then
    echo "browser test needs node and chromium: apt-get install -y chromium (or SKIP_BROWSER_TEST=1)" >&2
    exit 1
fi

${CARGO:-cargo} build --quiet
if [[ ! -f tests/browser/node_modules/playwright-core/package.json ]]; then
    (cd tests/browser && npm install --no-package-lock --no-audit --no-fund --loglevel=error)
fi
mkdir -p test-output
export CHROMIUM GATEWAY_BIN="${GATEWAY_BIN:-$PWD/target/debug/llm-gateway}"
exec timeout 300 node --test --test-timeout=60000 tests/browser/dashboard.test.mjs
