"""The GPU check's prebuilt pack: the CUDA build made here (no GPU needed), carried to the lent GPU
machine so that its few minutes go to tests and benchmarks rather than to a ~240 s build.

  python3 scripts/gpu_pack.py stamp BUILD PACK   # here, before building BUILD for sm_90
  python3 scripts/gpu_pack.py pack BUILD PACK    # here, after it
  python3 scripts/gpu_pack.py unpack BUILD PACK  # there (scripts/gpu-check.sh calls it)

(`scripts/gpu-check.sh --pack` runs the first two around the build.) A source edited during the
build makes `pack` refuse: the programs might not be what the stamp says.

`unpack` refuses (exit 1, with the reason) a pack that does not fit this checkout: a source file
that changed, appeared or went away since packing, absolute paths of the build that cannot be
recreated here, a shared library its programs cannot find, or a missing Python or mpiexec that
its tests call. gpu-check.sh then builds as usual. Both sides use only the standard library
(lzma, tarfile, hashlib): the pack's long-range dictionary holds the programs' common device code
once.
"""
import hashlib
import json
import lzma
import os
import shutil
import subprocess
import sys
import tarfile
import time

# What the build reads: a change to any of these files makes the pack stale.
SOURCE_ROOTS = ("CMakeLists.txt", "src", "kernels", "include", "tests", "bench")
SOURCE_SUFFIXES = (".cpp", ".cu", ".cuh", ".hpp", ".h", ".txt", ".cmake", ".in")
# Not needed to run the tests and benchmarks (objects, libraries, build rules, old test logs).
SKIPPED_DIRS = {"CMakeFiles", "Testing", "__pycache__"}
SKIPPED_SUFFIXES = (".o", ".a", ".make", "Makefile", "cmake_install.cmake")
# The executables' common device code is ~100 MB each: a dictionary larger than one holds it once.
FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 6, "dict_size": 768 << 20}]


def sources(root):
    """{relative path: sha256} of every build input under root."""
    found = {}
    for top in SOURCE_ROOTS:
        path = os.path.join(root, top)
        walk = [(root, [], [top])] if os.path.isfile(path) else os.walk(path)
        for folder, dirs, files in walk:
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            for name in sorted(files):
                if name.endswith(SOURCE_SUFFIXES):
                    full = os.path.join(folder, name)
                    with open(full, "rb") as f:
                        found[os.path.relpath(full, root)] = hashlib.sha256(f.read()).hexdigest()
    return found


def cache_value(build, key):
    with open(os.path.join(build, "CMakeCache.txt")) as f:
        for line in f:
            name, _, value = line.rstrip("\n").partition("=")
            if name.split(":")[0] == key:
                return value
    return ""


def executables(build):
    return sorted(os.path.relpath(os.path.join(folder, name), build)
                  for folder, dirs, files in os.walk(build) for name in files
                  if os.access(os.path.join(folder, name), os.X_OK) and
                  not name.endswith((".sh", ".py")) and "CMakeFiles" not in folder)


def stamp(build, out):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "sources.json"), "w") as f:
        json.dump(sources(os.getcwd()), f, indent=0)


def pack(build, out):
    build = os.path.abspath(build)
    with open(os.path.join(out, "sources.json")) as f:
        before = json.load(f)
    now = sources(os.getcwd())
    changed = sorted(p for p in set(before) | set(now) if before.get(p) != now.get(p))
    if changed:
        sys.exit(f"{', '.join(changed[:5])} changed during the build: pack again")
    root = cache_value(build, "CMAKE_HOME_DIRECTORY")
    if os.path.realpath(root) != os.path.realpath(os.getcwd()):
        sys.exit(f"{build} is a build of {root}, not of this checkout")
    if not root or cache_value(build, "LANGEVIN_ENABLE_CUDA") != "ON":
        sys.exit(f"{build}: not a CUDA build of langevin (configure with -DLANGEVIN_ENABLE_CUDA=ON)")
    programs = executables(build)
    commit = subprocess.run(["git", "-C", root, "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip()
    info = {"root": root, "build": build, "commit": commit,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "architectures": cache_value(build, "CMAKE_CUDA_ARCHITECTURES"),
            "python": cache_value(build, "LANGEVIN_PYTHON"),
            "mpiexec": cache_value(build, "MPIEXEC_EXECUTABLE"),
            "programs": programs, "sources": now}
    os.makedirs(out, exist_ok=True)
    archive = os.path.join(out, "build.tar.xz")
    with lzma.open(archive + ".tmp", "wb", format=lzma.FORMAT_XZ, filters=FILTERS) as xz, \
            tarfile.open(fileobj=xz, mode="w") as tar:
        for folder, dirs, files in os.walk(build):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            for name in sorted(files):
                if not name.endswith(SKIPPED_SUFFIXES):
                    full = os.path.join(folder, name)
                    tar.add(full, arcname=os.path.relpath(full, build))
    os.replace(archive + ".tmp", archive)
    with open(os.path.join(out, "info.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(f"{archive}: {os.path.getsize(archive) / 2**20:.1f} MiB, {len(programs)} programs, "
          f"{len(info['sources'])} sources, commit {commit}")


def refuse(why):
    print(f"prebuilt pack not used: {why}", file=sys.stderr)
    sys.exit(1)


def unpack(build, out):
    with open(os.path.join(out, "info.json")) as f:
        info = json.load(f)
    here = os.getcwd()
    now = sources(here)
    for path in sorted(set(now) | set(info["sources"])):
        if now.get(path) != info["sources"].get(path):
            state = ("is new" if path not in info["sources"] else
                     "is gone" if path not in now else "changed")
            refuse(f"{path} {state} since it was packed ({info['commit']}, {info['date']})")
    # The build's absolute paths (ctest's commands, the tests' compiled-in paths) must lead here.
    root = info["root"]
    if os.path.realpath(root) != os.path.realpath(here):
        if os.path.lexists(root):
            refuse(f"it was built in {root}, which exists here and is not this checkout")
        try:
            os.makedirs(os.path.dirname(root), exist_ok=True)
            os.symlink(here, root)
        except OSError as e:
            refuse(f"cannot link {root} to this checkout: {e}")
    if os.path.realpath(info["build"]) != os.path.realpath(os.path.join(here, build)):
        refuse(f"it holds {info['build']}, not {build}")
    shutil.rmtree(build, ignore_errors=True)
    with tarfile.open(os.path.join(out, "build.tar.xz"), "r:xz") as tar:
        try:
            tar.extractall(build, filter="tar")  # Python >= 3.11.4: no links out of BUILD
        except TypeError:
            tar.extractall(build)
    missing = []
    for program in info["programs"]:
        ldd = subprocess.run(["ldd", os.path.join(build, program)], capture_output=True, text=True)
        missing += [f"{program}: {line.strip()}" for line in ldd.stdout.splitlines()
                    if "not found" in line]
    needs = [(info["python"], [info["python"], "-c", "import h5py, numpy, matplotlib"]),
             (info["mpiexec"], [info["mpiexec"], "--version"])]
    for exe, check in needs:
        if exe and subprocess.run(check, capture_output=True).returncode != 0:
            missing.append(f"{' '.join(check)} fails")
    if missing:
        shutil.rmtree(build, ignore_errors=True)
        refuse("; ".join(missing[:5]))
    print(f"prebuilt pack: {info['commit']}, built {info['date']} for sm_{info['architectures']}, "
          f"{len(info['programs'])} programs")


if __name__ == "__main__":
    verbs = {"stamp": stamp, "pack": pack, "unpack": unpack}
    if len(sys.argv) != 4 or sys.argv[1] not in verbs:
        sys.exit("usage: gpu_pack.py stamp|pack|unpack BUILD PACK")
    verbs[sys.argv[1]](sys.argv[2], sys.argv[3])
