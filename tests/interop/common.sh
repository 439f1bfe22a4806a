# Shared by the interop runners (run.sh, run_vault.sh); source it after `set -eu`.
# Sets src, build, here, cloak and nodeflags; checks node/npm and the cloak binary; installs the
# pinned dependencies with `npm ci` when node_modules is missing or older than the lockfile;
# defines wait_listening. env: CLOAK_SOURCE_DIR, CLOAK_BUILD_DIR.
src=${CLOAK_SOURCE_DIR:?CLOAK_SOURCE_DIR is not set}
build=${CLOAK_BUILD_DIR:?CLOAK_BUILD_DIR is not set}
here=$src/tests/interop
cloak=$build/bin/cloak

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "interop: node and npm are required for this test; run \`make deps\` (installs nodejs and npm from Debian)" >&2
  exit 1
fi
[ -x "$cloak" ] || { echo "interop: $cloak is missing; build first" >&2; exit 1; }

# (Re)install when node_modules is missing or older than the lockfile. npm ci writes
# node_modules/.package-lock.json, which we use as the stamp. The interop tests may run in
# parallel (ctest -j): a lock in the build directory keeps two `npm ci` apart.
npm_ci_if_needed() {
  stamp=$here/node_modules/.package-lock.json
  if [ ! -f "$stamp" ] ||
    [ -n "$(find "$here/package-lock.json" "$here/package.json" -newer "$stamp" 2>/dev/null)" ]; then
    echo "interop: installing pinned dependencies with npm ci" >&2
    if ! (cd "$here" && npm ci --no-audit --no-fund >&2); then
      echo "interop: \`npm ci\` failed in $here (no access to the npm registry?); cannot run the interop test" >&2
      return 1
    fi
  fi
}
if command -v flock >/dev/null 2>&1; then
  exec 9>"$build/interop-npm.lock"
  flock 9
  npm_ci_if_needed || exit 1
  flock -u 9
  exec 9>&-
else
  npm_ci_if_needed || exit 1
fi

# wait_listening PID OUT ERR NAME: wait (30 s at most) until the service started as PID prints
# "listening on HOST port N" to OUT; on an early exit show OUT and ERR and fail.
wait_listening() {
  i=0
  while ! grep -q '^listening on ' "$2" 2>/dev/null; do
    if ! kill -0 "$1" 2>/dev/null; then
      echo "interop: $4 exited early:" >&2
      cat "$2" "$3" >&2
      return 1
    fi
    i=$((i + 1))
    if [ "$i" -gt 300 ]; then echo "interop: $4 did not start in 30 s" >&2; return 1; fi
    sleep 0.1
  done
  cat "$2" >&2
}

# The current @azure/core-* packages the lockfile pins use the global `crypto` (WebCrypto),
# which Node 18 (Debian 12's nodejs) has only behind this flag.
# shellcheck disable=SC2034  # used by the scripts that source this file
nodeflags=""
major=$(node -p 'process.versions.node.split(".")[0]')
# shellcheck disable=SC2034
if [ "$major" -lt 19 ]; then nodeflags="--experimental-global-webcrypto"; fi
