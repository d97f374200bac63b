#!/usr/bin/env bash
# Builds everything (the CUDA backend too when nvcc is present) and runs the whole test suite.
# Without a GPU the CUDA tests skip; LANGEVIN_REQUIRE_CUDA=1 makes them fail instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
# nvcc is often installed outside PATH; CMake then finds it through CUDACXX.
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
    export CUDACXX=/usr/local/cuda/bin/nvcc
fi
build=${LANGEVIN_BUILD_DIR:-build}
# Tests ON explicitly: scripts/quickstart.sh configures the same build folder without them.
# CUDA said each time (a folder configured before nvcc was installed would keep it off);
# LANGEVIN_CMAKE_ARGS come last and win.
cuda=OFF
command -v "${CUDACXX:-nvcc}" >/dev/null 2>&1 && cuda=ON
# A fresh folder builds with Ninja (it compiles targets' objects while their libraries build).
generator=()
[ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DLANGEVIN_BUILD_TESTS=ON \
    -DLANGEVIN_ENABLE_CUDA=$cuda ${LANGEVIN_CMAKE_ARGS:-}
cmake --build "$build" -j"$(nproc)"
# --no-tests=error: a build that found no tests is a failure, not a pass.
ctest --test-dir "$build" -j"$(nproc)" --output-on-failure --no-tests=error
