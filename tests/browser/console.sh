#!/bin/sh
# console.sh - run the duty console's browser test (console.mjs), first
# installing its one dependency, playwright-core, from the lockfile when it
# is missing or older than the lockfile.  Arguments go to console.mjs:
#
#   tests/browser/console.sh URL TOKEN CALLBACK [--match TEXT] [--timeout S] [--screenshot F]
#
# Needs Debian's chromium, node (18 or later) and npm: deploy/install-deps.sh.
# playwright-core is pinned to 1.61.1, the last release that runs on the
# node 18 of Debian 12 (1.62 and later want node 20); it drives Debian's
# chromium (checked with 156) over the DevTools protocol.
set -eu
here=$(cd "$(dirname "$0")" && pwd)

command -v node >/dev/null 2>&1 || { echo "console.sh: node is missing: run deploy/install-deps.sh" >&2; exit 2; }
command -v npm >/dev/null 2>&1 || { echo "console.sh: npm is missing: run deploy/install-deps.sh" >&2; exit 2; }
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
	echo "console.sh: node $(node --version) is too old: playwright-core 1.61 needs node 18 or later" >&2
	exit 2
fi
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "console.sh: $chromium is missing: run deploy/install-deps.sh (Debian package chromium)" >&2; exit 2; }

stamp=$here/node_modules/.package-lock.json
if [ ! -f "$here/node_modules/playwright-core/package.json" ] || [ "$here/package-lock.json" -nt "$stamp" ]; then
	echo "console.sh: npm ci in $here" >&2
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2 || {
		echo "console.sh: npm ci failed in $here (it fetches playwright-core from the npm registry the first time)" >&2
		exit 2
	}
fi
exec node "$here/console.mjs" "$@"
