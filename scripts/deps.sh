#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need (only those that are missing).
set -euo pipefail
packages=(cmake g++ make libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libboost-dev
          libgtest-dev libhdf5-dev python3-h5py python3-matplotlib libopenmpi-dev openmpi-bin)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi
