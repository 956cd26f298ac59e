#!/usr/bin/env bash
# tomocell one-command set-up: install the Debian packages that are missing,
# configure CMake into build/ and build. Idempotent: a second run installs
# nothing and ends with a no-op build.
#
#   tools/setup.sh                 # Release-with-debug-info build in build/
#   TC_WERROR=ON tools/setup.sh    # warnings are errors (what CI uses)
#   TC_BUILD_DIR=build-asan TC_SANITIZE=address tools/setup.sh
#   TC_VIEWER=ON tools/setup.sh    # also ParaView + xvfb, for the ParaView part of
#                                  # the test xdmf_readers (about 1 GB; CI sets it)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${TC_BUILD_DIR:-build}
case "$build_dir" in /*) ;; *) build_dir="$here/$build_dir" ;; esac

packages=(build-essential cmake pkg-config git
          openmpi-bin libopenmpi-dev
          petsc-dev libhdf5-mpi-dev hdf5-tools libmetis-dev libtiff-dev zlib1g-dev
          python3-numpy python3-h5py python3-matplotlib python3-meshio
          slurm-wlm munge groff-base)
if [ "${TC_VIEWER:-OFF}" = ON ]; then
  packages+=(paraview python3-paraview xvfb xauth)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "tomocell setup: installing missing Debian packages: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "tomocell setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Python 3 on PATH may be a separate interpreter without Debian's numpy/h5py;
# tests and plots use Debian's.
py=/usr/bin/python3

cmake_args=(-S "$here" -B "$build_dir" -DPython3_EXECUTABLE=$py
            -DTC_WERROR="${TC_WERROR:-OFF}" -DTC_SANITIZE="${TC_SANITIZE:-}")
if [ -n "${CMAKE_BUILD_TYPE:-}" ]; then cmake_args+=(-DCMAKE_BUILD_TYPE="$CMAKE_BUILD_TYPE"); fi

# Reconfigure only when the options changed or the build dir is new.
stamp="$build_dir/.tc-setup-args"
if [ ! -f "$build_dir/CMakeCache.txt" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${cmake_args[*]}" ]; then
  cmake "${cmake_args[@]}" >/dev/null
  echo "${cmake_args[*]}" >"$stamp"
fi
cmake --build "$build_dir" -j "$(nproc)" -- --no-print-directory >/dev/null 2>"$build_dir/.build-stderr" || {
  cat "$build_dir/.build-stderr" >&2
  # rerun serially so the first error is readable
  cmake --build "$build_dir" -j 1
  exit 1
}
if [ -s "$build_dir/.build-stderr" ]; then cat "$build_dir/.build-stderr" >&2; fi
echo "tomocell setup: built $build_dir/tomocell ($("$build_dir/tomocell" --version | head -n1))"
