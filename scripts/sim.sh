#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# sim.sh - build kdpc-sim (release preset, if needed) and run it.
# Usage: bash scripts/sim.sh [kdpc-sim arguments...]   (default: run serial)
# Examples:
#   bash scripts/sim.sh run serial                  the default simulation: 2 CPUs, 2 s
#   bash scripts/sim.sh run disk --cpus 4 --load heavy --faults 0.01
#   bash scripts/sim.sh list                        examples and their broken variants
set -euo pipefail

# Output paths (--trace, --html, --report-json) are relative to where the script was called.
here=$PWD
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if [ ! -f build/release/CMakeCache.txt ]; then
    extra=()
    # kdpc-sim needs no cmocka; don't let a missing one stop it.
    if ! dpkg -s libcmocka-dev >/dev/null 2>&1; then
        extra+=(-DKDPC_BUILD_TESTS=OFF)
    fi
    cmake --preset release "${extra[@]}" >&2
fi
cmake --build --preset release --target kdpc-sim >&2
[ $# -gt 0 ] || set -- run serial
cd "$here"
exec "$root/build/release/examples/sim/kdpc-sim" "$@"
