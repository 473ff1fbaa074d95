#!/usr/bin/env bash
# The Debian packages the full test suite needs, in one place (`make test` and .ci/run call this):
#
#   chromium, chromium-driver  tests marked `browser` (headless /usr/bin/chromium)
#   postgresql                 tests marked `postgres` (initdb + pg_ctl from /usr/lib/postgresql/*/bin)
#
# Present: exits 0 at once (no apt-get update). Missing: installs them with apt-get as root, or
# with sudo where it needs no password. Where neither works (or there is no apt-get), exits 1
# within seconds, naming the packages and the command to run; `make test-fast` needs none of them.
#
# Environment, for the tests of this script: AUFX_PROVISION_ROOT, a folder standing for / where the
# packages' files are looked for (default: /). apt-get, sudo and id are found on PATH.
set -euo pipefail

root="${AUFX_PROVISION_ROOT:-}"
me="scripts/provision_test_deps.sh"

missing_packages() {
    local need=()
    [ -x "$root/usr/bin/chromium" ] || need+=(chromium)
    [ -x "$root/usr/bin/chromedriver" ] || need+=(chromium-driver)
    compgen -G "$root/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
    echo "${need[*]}"
}

need="$(missing_packages)"
[ -z "$need" ] && exit 0

command_hint="sudo apt-get update && sudo apt-get install -y --no-install-recommends $need"
cannot() {
    echo "$me: the full test suite needs Debian packages that are not installed: $need" >&2
    echo "$me: $1, so they cannot be installed here. Install them with" >&2
    echo "" >&2
    echo "    $command_hint" >&2
    echo "" >&2
    echo "$me: then run \`make test\` again (\`make test-fast\` skips the tests that need them)." >&2
    exit 1
}

if ! command -v apt-get >/dev/null 2>&1; then
    cannot "this machine has no apt-get (not Debian)"
fi
if [ "$(id -u)" = 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    as_root=(sudo -n)
elif command -v sudo >/dev/null 2>&1; then
    cannot "this user is not root and sudo asks for a password"
else
    cannot "this user is not root and there is no sudo"
fi

echo "$me: installing Debian packages for the tests: $need"
# shellcheck disable=SC2086  # $need: one word per package
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need

left="$(missing_packages)"
if [ -n "$left" ]; then
    echo "$me: apt-get finished but these are still missing: $left" >&2
    exit 1
fi
echo "$me: installed $need"
