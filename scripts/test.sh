#!/bin/sh
# README command 2: run the whole test suite (unit and integration, real broker on port 0).
cd "$(dirname "$0")/.."
. scripts/ensure-bun.sh
exec bun test "$@"
