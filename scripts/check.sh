#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# check.sh - the project's full check, as run by CI (.ci/run) and README:
#   (a) install missing build dependencies with apt-get (as root, or via sudo);
#   (b) clang-format --dry-run --Werror over the tracked C sources/headers;
#   (c) cmake workflows: dev-clang, dev-ucontext (fibers switched by
#       swapcontext, the fallback of other hosts), asan, tsan, then dev last,
#       so that the log ends with dev's ctest summary.
# Each stage starts with a one-line banner "=== check.sh: ... ===".
# Usage: bash scripts/check.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

stage_start=$SECONDS
banner() {
    printf '\n=== check.sh: %s ===\n' "$*"
    stage_start=$SECONDS
}
stage_done() {
    printf '=== check.sh: %s done in %ds ===\n' "$1" $((SECONDS - stage_start))
}

# Run a command as root: directly when we are root, else through sudo.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "check.sh: need root or sudo to run: $*" >&2
        return 1
    fi
}

apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "check.sh: no apt-get; install these yourself: $*" >&2
        return 1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
}

# (a) dependencies ----------------------------------------------------------
banner "dependencies"
missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
{ command -v clang >/dev/null 2>&1 && command -v clang++ >/dev/null 2>&1; } || missing+=(clang)
command -v make >/dev/null 2>&1 || missing+=(make)
dpkg -s libcmocka-dev >/dev/null 2>&1 || missing+=(libcmocka-dev)
dpkg -s libdw-dev >/dev/null 2>&1 || missing+=(libdw-dev)
if [ ${#missing[@]} -gt 0 ]; then
    echo "missing: ${missing[*]}"
    apt_install cmake gcc g++ clang libcmocka-dev libdw-dev make clang-format
elif ! command -v clang-format >/dev/null 2>&1; then
    echo "clang-format missing; trying to install it (optional)"
    apt_install clang-format || echo "check.sh: could not install clang-format; format check skipped" >&2
else
    echo "all present: cmake, gcc, g++, clang, make, libcmocka-dev, libdw-dev, clang-format"
fi
# Optional: a browser for the HTML report's test (tests/browser, label browser); without one
# that test is skipped.
if [ -n "${KDPC_CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1 ||
    command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1; then
    echo "browser present for tests/browser"
else
    echo "chromium missing; trying to install it (optional)"
    apt_install chromium ||
        echo "check.sh: could not install chromium; the browser test (tests/browser) is skipped" >&2
fi
stage_done "dependencies"

# (b) formatting ------------------------------------------------------------
if command -v clang-format >/dev/null 2>&1; then
    banner "clang-format --dry-run --Werror ($(clang-format --version | head -n1))"
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files -z '*.c' '*.h' | xargs -0 -r clang-format --dry-run --Werror
    else
        find src include tests examples bench \( -name '*.c' -o -name '*.h' \) -print0 |
            xargs -0 -r clang-format --dry-run --Werror
    fi
    stage_done "clang-format"
else
    echo "check.sh: clang-format not found; format check skipped" >&2
fi

# (c) workflows -------------------------------------------------------------
workflow() {
    banner "cmake --workflow --preset $1"
    cmake --workflow --preset "$1"
    stage_done "workflow $1"
}

# ThreadSanitizer cannot start on kernels with high mmap randomisation
# ("FATAL: ThreadSanitizer: unexpected memory mapping", google/sanitizers#1716);
# the tests then run again with ASLR disabled for the process tree.
workflow_tsan() {
    local log rc=0
    banner "cmake --workflow --preset tsan"
    log=$(mktemp)
    cmake --workflow --preset tsan 2>&1 | tee "$log" || rc=$?
    if [ "$rc" -ne 0 ] && grep -q 'unexpected memory mapping' "$log"; then
        rm -f "$log"
        banner "tsan: 'unexpected memory mapping'; re-running tests under setarch -R"
        setarch "$(uname -m)" -R ctest --preset tsan
    elif [ "$rc" -ne 0 ]; then
        rm -f "$log"
        return "$rc"
    else
        rm -f "$log"
    fi
    stage_done "workflow tsan"
}

workflow dev-clang
workflow dev-ucontext
workflow asan
workflow_tsan
# dev last, with nothing printed after it: its ctest summary closes the log.
banner "cmake --workflow --preset dev (last stage; ${SECONDS}s so far)"
exec cmake --workflow --preset dev
