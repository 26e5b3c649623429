#!/bin/sh
# install-deps.sh - install the Debian 12 packages Anquan needs, only those missing.
#
# Called by `make deps` (and so by `make test`, `make run`) and by .ci/run.
# Groups: the default set builds, tests and runs the demo; --bench adds the
# load tools, --lint the code checkers.  apt-get update runs first, and only
# when something is missing, so a machine that has everything is not touched.
set -eu

pkgs="gcc make pkg-config libc6-dev curl jq procps passwd util-linux iproute2
libzmq3-dev libprotobuf-c-dev protobuf-c-compiler libevent-dev libpq-dev
postgresql-15 postgresql-client-15 libcmocka-dev libcjson-dev libjansson-dev libinih-dev"
# The duty console's browser test (tests/browser): Debian's Chromium, and
# Node.js with npm for playwright-core (Debian 12's node 18 and npm 9 will
# do: tests/browser pins a playwright-core that runs on them).  A Node.js
# from elsewhere (its own nodejs package, which ships npm and conflicts
# with Debian's npm) counts.  The console is in Chinese and Chromium brings
# no CJK font: without fonts-wqy-zenhei its text renders as empty boxes.
pkgs="$pkgs chromium fonts-wqy-zenhei"
command -v node >/dev/null 2>&1 || pkgs="$pkgs nodejs"
command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
for arg in "$@"; do
	case "$arg" in
	--bench) pkgs="$pkgs wrk prometheus-alertmanager" ;;
	--lint) pkgs="$pkgs clang-format clang-tidy cppcheck" ;;
	*) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
	esac
done

missing=""
for p in $pkgs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing$missing"
sudo=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install$missing" >&2; exit 1; }
	sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
# shellcheck disable=SC2086
$sudo apt-get install -y -q --no-install-recommends $missing
