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
import re
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
SKIPPED_SUFFIXES = (".o", ".a", ".make", "Makefile", "cmake_install.cmake", ".ninja",
                    ".ninja_log", ".ninja_deps")
# The programs' common device code is ~100 MB in each: a dictionary spanning them holds it once.
FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 6, "dict_size": 512 << 20}]  # ~5.5 GB to pack


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
    info_path = os.path.join(out, "info.json")
    for stale in (info_path, archive, archive + ".tmp"):  # a broken pack must not travel
        if os.path.exists(stale):
            os.remove(stale)
    with lzma.open(archive + ".tmp", "wb", format=lzma.FORMAT_XZ, filters=FILTERS) as xz, \
            tarfile.open(fileobj=xz, mode="w") as tar:
        for folder, dirs, files in os.walk(build):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            for name in sorted(files):
                if not name.endswith(SKIPPED_SUFFIXES):
                    full = os.path.join(folder, name)
                    tar.add(full, arcname=os.path.relpath(full, build))
    os.replace(archive + ".tmp", archive)
    with open(info_path, "w") as f:
        json.dump(info, f, indent=1)
    print(f"{archive}: {os.path.getsize(archive) / 2**20:.1f} MiB, {len(programs)} programs, "
          f"{len(info['sources'])} sources, commit {commit}")


def refuse(why):
    print(f"prebuilt pack not used: {why}", file=sys.stderr)
    sys.exit(1)


def has_plot_modules(python):
    try:
        return subprocess.run([python, "-c", "import h5py, numpy, matplotlib"],
                              capture_output=True).returncode == 0
    except OSError:
        return False


def retarget_tools(build, info):
    """The tests' Python and mpiexec as this machine has them: ctest's files name the packing
    machine's (/usr/bin/python3 with h5py, numpy, matplotlib); where that one is missing or
    lacks a module, this script's own Python (which must have them) or PATH's mpiexec is written
    in instead. Returns the Python the tests use, or refuses."""
    swaps = {}
    python = info["python"]
    if python and not has_plot_modules(python):
        if not has_plot_modules(sys.executable):
            refuse(f"neither {python} nor {sys.executable} imports h5py, numpy and matplotlib")
        swaps[python] = sys.executable
        python = sys.executable
    mpiexec = info["mpiexec"]
    if mpiexec and not os.access(mpiexec, os.X_OK):
        found = shutil.which("mpiexec")
        if not found:
            refuse(f"no {mpiexec} and no mpiexec on PATH (the MPI test runs it)")
        swaps[mpiexec] = found
    files = [os.path.join(folder, name) for folder, _, names in os.walk(build) for name in names
             if name == "CTestTestfile.cmake" or name.endswith("_tests.cmake")]
    absolute = set()
    for path in files:
        with open(path) as f:
            text = f.read()
        for old, new in swaps.items():
            text = text.replace(f'"{old}"', f'"{new}"')
        with open(path, "w") as f:
            f.write(text)
        # Every command ctest will start (the first word after the test's name) must be here.
        absolute |= set(re.findall(r'add_test\(\s*\S+\s+"(/[^"]+)"', text))
    gone = sorted(p for p in absolute if not os.access(p, os.X_OK))
    if gone:
        refuse("ctest would run what is not here: " + ", ".join(gone[:5]))
    return python


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
    if info["architectures"] not in ("90", "90-real", "90a", "90a-real"):
        refuse(f"it was built for sm_{info['architectures']}, not sm_90")
    # The build's absolute paths (ctest's commands, the tests' compiled-in paths) must lead here.
    root = info["root"]
    if os.path.realpath(root) != os.path.realpath(here):
        if os.path.islink(root):  # a warm machine: the link an earlier call made
            os.remove(root)
        if os.path.lexists(root):
            refuse(f"it was built in {root}, which exists here and is not this checkout")
        try:
            os.makedirs(os.path.dirname(root), exist_ok=True)
            os.symlink(here, root)
        except OSError as e:
            refuse(f"cannot link {root} to this checkout: {e}")
    if os.path.realpath(info["build"]) != os.path.realpath(os.path.join(here, build)):
        refuse(f"it holds {info['build']}, not {build}")
    # Unpacked beside BUILD and renamed into place only when everything fits: a refused or
    # broken pack leaves no half-made build for the fallback to configure over.
    staging = build.rstrip("/") + ".unpacking"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with tarfile.open(os.path.join(out, "build.tar.xz"), "r:xz") as tar:
            try:
                tar.extractall(staging, filter="data")  # Python >= 3.11.4: nothing outside
            except TypeError:
                tar.extractall(staging)
        missing = [p for p in info["programs"] if not os.access(os.path.join(staging, p), os.X_OK)]
        if missing:
            refuse("programs missing from the pack: " + ", ".join(missing))
        for program in info["programs"]:
            ldd = subprocess.run(["ldd", os.path.join(staging, program)], capture_output=True,
                                 text=True)
            missing += [f"{program}: {line.strip()}" for line in ldd.stdout.splitlines()
                        if "not found" in line]
        if missing:
            refuse("; ".join(missing[:5]))
        shutil.rmtree(build, ignore_errors=True)
        os.rename(staging, build)
        try:
            python = retarget_tools(build, info)
        except SystemExit:
            shutil.rmtree(build, ignore_errors=True)
            raise
    except (OSError, tarfile.TarError, lzma.LZMAError) as e:
        shutil.rmtree(build, ignore_errors=True)
        refuse(f"{type(e).__name__}: {e}")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f"prebuilt pack: {info['commit']}, built {info['date']} for sm_{info['architectures']}, "
          f"{len(info['programs'])} programs; tests' Python {python}")


if __name__ == "__main__":
    verbs = {"stamp": stamp, "pack": pack, "unpack": unpack}
    if len(sys.argv) != 4 or sys.argv[1] not in verbs:
        sys.exit("usage: gpu_pack.py stamp|pack|unpack BUILD PACK")
    verbs[sys.argv[1]](sys.argv[2], sys.argv[3])
