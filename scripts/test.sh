#!/bin/sh
# README command 2: run the whole test suite (unit and integration, real broker on port 0).
# The per-test timeout is the one `bun run test` uses: on a shared, contended CI host a test that
# spawns the compiled binary can take longer than bun's 5 s default without anything being wrong.
cd "$(dirname "$0")/.."
. scripts/ensure-bun.sh
exec bun test --timeout 60000 "$@"
