#!/bin/sh
# README command 2: run the whole test suite (unit and integration, real broker on port 0).
# The per-test timeout is the one `bun run test` uses: on a shared, contended CI host a test that
# spawns the compiled binary can take longer than bun's 5 s default without anything being wrong.
cd "$(dirname "$0")/.." || exit 1
. scripts/ensure-bun.sh
. scripts/test-tools.sh
need=$(missing_test_packages)
if [ -n "$need" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "claudemesh: installing the Debian packages some tests drive: $need" >&2
    install_test_packages "$need" /tmp/claudemesh-test-apt.log || { tail -20 /tmp/claudemesh-test-apt.log >&2; exit 1; }
  else
    echo "claudemesh: some tests drive tools this machine lacks and will fail; install them first: sudo apt-get install $need" >&2
  fi
fi
exec bun test --timeout 60000 "$@"
