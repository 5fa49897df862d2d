#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# example.sh - build (release preset, if needed) and run one example.
# Usage: bash scripts/example.sh [name] [args...]    (default: hello_dpc)
# The examples are the folders under examples/; the binary is
# build/release/examples/<name>.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

name="${1:-hello_dpc}"
[ $# -gt 0 ] && shift

if ! compgen -G "examples/$name/*.c" >/dev/null; then
    echo "example.sh: no example '$name'; available:" >&2
    for d in examples/*/; do
        compgen -G "$d*.c" >/dev/null && echo "  $(basename "$d")" >&2
    done
    exit 2
fi

if [ ! -f build/release/CMakeCache.txt ]; then
    extra=()
    # The examples need no cmocka; don't let a missing one stop them.
    if ! dpkg -s libcmocka-dev >/dev/null 2>&1; then
        extra+=(-DKDPC_BUILD_TESTS=OFF)
    fi
    cmake --preset release "${extra[@]}" >&2
fi
cmake --build --preset release --target "$name" >&2
exec "build/release/examples/$name" "$@"
