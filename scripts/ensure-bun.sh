# shellcheck shell=sh
# Sourced by the entry scripts: makes sure Bun ≥ 1.4 and the locked dependencies are present.
# Needs only Node.js and npm on a fresh machine.
set -eu
if ! command -v bun >/dev/null 2>&1; then
  echo "claudemesh: installing Bun from npm (npm install -g bun)..." >&2
  npm install -g bun >&2
fi
case "$(bun --version)" in
  1.[4-9]*|1.[1-9][0-9]*|[2-9]*) ;;
  *) echo "claudemesh: Bun $(bun --version) is too old; need 1.4 or newer (npm install -g bun@latest)" >&2; exit 1 ;;
esac
bun install --frozen-lockfile >&2
