#!/usr/bin/env bash
# One command on a fresh Debian/Ubuntu machine: install what is missing, build (with the CUDA
# backend when nvcc is present), and run the default study (on the GPU when there is one).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
# nvcc is often installed outside PATH; CMake then finds it through CUDACXX.
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
    export CUDACXX=/usr/local/cuda/bin/nvcc
fi
# Said each time: a build folder configured before nvcc was installed would keep CUDA off.
cuda=OFF
command -v "${CUDACXX:-nvcc}" >/dev/null 2>&1 && cuda=ON
# A fresh folder builds with Ninja (it compiles targets' objects while their libraries build).
generator=()
[ ! -f build/CMakeCache.txt ] && command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DLANGEVIN_BUILD_TESTS=OFF \
    -DLANGEVIN_ENABLE_CUDA=$cuda
cmake --build build -j"$(nproc)" --target langevin
./build/langevin info
./build/langevin run data/examples/double_well.toml "$@"
