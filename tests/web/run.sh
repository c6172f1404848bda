#!/usr/bin/env bash
# Browser end-to-end tests of the web client (tests/web/run.mjs): Debian's chromium,
# driven headless by playwright-core from the npm registry (no browser download).
#
# Usage: bash tests/web/run.sh
#   HEARTH_BIN  use this hearth binary instead of building one with cargo
#   DEBUG_WS    a regex: log the WebSocket lines each page sends and receives that match
#   CARGO_TARGET_DIR is honoured for the build and the default binary path.
# Installs chromium with apt-get when /usr/bin/chromium is missing (prints "skipped: …"
# and exits 0 if it cannot), and playwright-core with npm. Screenshots: tests/web/out/.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
say() { echo "web-tests: $*"; }
T0=$SECONDS

export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
    say "installing chromium (apt-get)"
    if ! { command -v apt-get >/dev/null &&
           { apt-get update -qq || true; } &&
           DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } ||
       [ ! -x "$CHROMIUM" ]; then
        echo "skipped: chromium is not installed and could not be installed with apt-get"
        exit 0
    fi
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    say "installing nodejs and npm (apt-get)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; then
        echo "skipped: node/npm are not installed and could not be installed with apt-get"
        exit 0
    fi
fi

say "npm ci (playwright-core)"
(cd "$HERE" && { npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error; })

if [ -z "${HEARTH_BIN:-}" ]; then
    say "building hearth (cargo build -p hearth)"
    (cd "$REPO" && cargo build -q -p hearth)
    HEARTH_BIN="$TARGET_DIR/debug/hearth"
fi
export HEARTH_BIN
say "using $HEARTH_BIN, $("$CHROMIUM" --version 2>/dev/null | head -1)"

# The whole client must stay under 100 KB gzip (issue 10's budget).
size=0
while IFS= read -r -d '' f; do
    size=$((size + $(gzip -9c "$f" | wc -c)))
done < <(find "$REPO/web" -type f ! -name '*.md' ! -path '*/tests/*' ! -path '*/node_modules/*' -print0)
say "web client: $size bytes gzip, file by file (budget 102400)"
if [ "$size" -gt 102400 ]; then
    say "FAILED: the web client is over its 100 KB gzip budget"
    exit 1
fi

cd "$HERE"
node unit.mjs
node run.mjs
say "done in $((SECONDS - T0)) s"
