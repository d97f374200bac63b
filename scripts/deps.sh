#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need (only those that are missing), after
# checking for the one thing apt cannot give from Debian main: the CUDA toolkit's headers.
set -euo pipefail
# Every build, CPU-only included, compiles cuRAND's Philox (curand_kernel.h) into the CPU backend
# so that it draws the GPU's exact random streams: CMakeLists.txt's find_package(CUDAToolkit).
cuda_dirs=(/usr/local/cuda/include /usr/include)
for v in CUDAToolkit_ROOT CUDA_PATH; do # the variables CMake's FindCUDAToolkit reads
    [ -n "${!v:-}" ] && cuda_dirs+=("${!v}/include")
done
if nvcc=$(command -v nvcc); then
    cuda_dirs+=("$(dirname "$(dirname "$(readlink -f "$nvcc")")")/include")
fi
found=""
for d in "${cuda_dirs[@]}"; do
    [ -f "$d/curand_kernel.h" ] && { found=$d; break; }
done
if [ -z "$found" ]; then
    cat >&2 <<'MSG'
error: the CUDA toolkit is not installed (no curand_kernel.h in /usr/local/cuda/include,
/usr/include, $CUDAToolkit_ROOT/include, $CUDA_PATH/include or beside an
nvcc on PATH). Every build needs it, CPU-only ones too: cuRAND's Philox headers give the CPU
backend the GPU's exact random streams; a GPU is needed only to run the CUDA backend. Install
NVIDIA's CUDA toolkit (installer or apt repository: https://developer.nvidia.com/cuda-downloads,
into /usr/local/cuda) or Debian's nvidia-cuda-toolkit package (non-free; Ubuntu: multiverse),
then run this again.
MSG
    exit 1
fi
packages=(cmake g++ make ninja-build libtomlplusplus-dev libcli11-dev nlohmann-json3-dev
          libboost-dev libgtest-dev libhdf5-dev python3-h5py python3-matplotlib libopenmpi-dev
          openmpi-bin)
missing=()
for p in "${packages[@]}"; do
    # dpkg -s also succeeds for removed packages whose configuration files remain.
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
        missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi
