#!/bin/sh
# README command 1: set up and run the broker on its embedded defaults
# (127.0.0.1:7900, data in ~/.local/share/claudemesh). Extra arguments go to `claudemesh serve`.
cd "$(dirname "$0")/.."
. scripts/ensure-bun.sh
exec bun run src/main.ts serve "$@"
