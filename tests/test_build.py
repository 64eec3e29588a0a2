"""Build-level checks: dist/ contents, pinned checksums, the Space README and the
local server's headers. Builds the real site once per session (about 15 s with a
warm download cache)."""

from __future__ import annotations

import ast
import gzip
import hashlib
import http.client
import importlib.util
import io
import json
import threading
import zipfile
from pathlib import Path

import pytest
import yaml

from meshseg.serve import make_server

ROOT = Path(__file__).resolve().parents[1]


def _load_build_module():
    spec = importlib.util.spec_from_file_location("meshseg_build", ROOT / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_py = _load_build_module()
_spec = importlib.util.spec_from_file_location("sourceless", ROOT / "tools" / "sourceless.py")
sourceless = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sourceless)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def dist(tmp_path_factory, weights_dir, data_dir) -> Path:
    out = tmp_path_factory.mktemp("build") / "dist"
    build_py.build(out, weights_dir, data_dir / "t1_crop.nii.gz")
    return out


@pytest.fixture(scope="session")
def lock() -> dict:
    return json.loads((build_py.NODE_MODULES / "pyodide" / "pyodide-lock.json").read_text())


@pytest.fixture(scope="session")
def server(dist):
    server = make_server(dist, port=0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def get(port: int, path: str) -> tuple[http.client.HTTPResponse, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response, body


def test_pyodide_packages_are_the_lock_files_compiled(dist, lock):
    """Each lock package is the npm lock's file (sha256 checked) with its Python sources
    compiled to bytecode, and the served lock gives the served file's sha256."""
    served = json.loads((dist / "pyodide" / "pyodide-lock.json").read_text())
    packages = build_py.resolve_lock(lock, build_py.PYODIDE_PACKAGES)
    assert {entry["name"] for entry in packages} == {"numpy", "openblas", "packaging"}
    reader = build_py.package_reader(None, build_py.ROOT / ".cache")
    for entry in packages:
        path = dist / "pyodide" / entry["file_name"]
        assert sha256(path) == served["packages"][entry["name"]]["sha256"], entry["name"]
        official = build_py.read_checked(entry, reader)
        assert sourceless.differences(official, path.read_bytes(), build_py.PYC_MAGIC) == []
        if path.suffix == ".whl":
            assert sha256(path) != entry["sha256"], f"{entry['name']} was not compiled"
    assert not (dist / "pyodide" / lock["packages"]["scipy"]["file_name"]).exists()


def test_every_python_archive_is_compiled_for_pyodides_python(dist):
    """No .py left that the worker would compile at start-up (bar sources that do not
    compile), and every .pyc has CPython 3.12's magic number."""
    archives = build_py.python_archives(dist)
    assert len(archives) == 8, archives
    for path in archives:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            pyc = [n for n in names if n.endswith(".pyc")]
            left = [n for n in names if n.endswith(".py")]
            assert len(pyc) > 5 * len(left), (path.name, left[:5])
            assert {archive.read(n)[:4] for n in pyc} == {build_py.PYC_MAGIC}, path.name
            assert sourceless.record_problems(archive) == [], path.name


def test_scipy_is_the_lock_wheel_trimmed_to_what_meshseg_imports(dist, lock):
    official = build_py.read_checked(lock["packages"]["scipy"],
                                     build_py.package_reader(None, build_py.ROOT / ".cache"))
    (trimmed,) = (dist / "wheels").glob("scipy-*.whl")
    assert trimmed.name == "scipy-1.14.1-1ndimage-cp312-cp312-pyodide_2024_0_wasm32.whl"
    with zipfile.ZipFile(io.BytesIO(official)) as source, zipfile.ZipFile(trimmed) as wheel:
        names = wheel.namelist()
        subpackages = {n.split("/")[1] for n in names
                       if n.startswith("scipy/") and n.count("/") > 1}
        assert subpackages == {"_lib", "ndimage", "special", "linalg", "sparse"}
        assert not [n for n in names if "/tests/" in n or "cython_special" in n]
        for name in names:  # byte-identical, or compiled from the official source
            if name.endswith(".pyc"):
                assert wheel.read(name)[:4] == build_py.PYC_MAGIC
                assert name[:-1] in source.namelist(), name
            elif not name.endswith("RECORD"):
                assert wheel.read(name) == source.read(name), name
        assert sourceless.record_problems(wheel) == []
        so = [n for n in names if n.endswith(".so")]
        assert "scipy/ndimage/_nd_image.cpython-312-wasm32-emscripten.so" in so
        official_so = sum(i.file_size for i in source.infolist() if i.filename.endswith(".so"))
        kept_so = sum(wheel.getinfo(n).file_size for n in so)
        print(f"scipy WebAssembly kept: {kept_so / 1e6:.1f} of {official_so / 1e6:.1f} MB")
        assert kept_so < 0.5 * official_so


def test_meshseg_imports_only_the_scipy_the_browser_gets():
    """Every ``scipy`` import in the browser wheel's modules is in a kept subpackage."""
    found = set()
    for path in (ROOT / "py" / "meshseg").rglob("*.py"):
        relative = path.relative_to(ROOT / "py" / "meshseg").parts
        if relative[0] in build_py.BROWSER_EXCLUDES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("scipy"):
                parts = node.module.split(".")
                found |= {parts[1]} if len(parts) > 1 else {alias.name for alias in node.names}
            elif isinstance(node, ast.Import):
                found |= {a.name.split(".")[1] for a in node.names
                          if a.name.startswith("scipy.")}
    assert found and found <= set(build_py.SCIPY_SUBPACKAGES), found


def test_pyodide_core_is_the_npm_release(dist):
    """Byte for byte, bar the stdlib zip (compiled) and the lock (its sha256 follow)."""
    for name in build_py.PYODIDE_CORE:
        source = build_py.NODE_MODULES / "pyodide" / name
        if name == "python_stdlib.zip":
            assert sourceless.differences(source.read_bytes(), (dist / "pyodide" / name)
                                          .read_bytes(), build_py.PYC_MAGIC) == []
        elif name == "pyodide-lock.json":
            npm, served = (json.loads(p.read_text()) for p in (source, dist / "pyodide" / name))
            for entry in served["packages"].values():
                entry.pop("sha256")
            for entry in npm["packages"].values():
                entry.pop("sha256")
            assert served == npm
        else:
            assert sha256(dist / "pyodide" / name) == sha256(source), name


def test_a_tampered_pyodide_package_stops_the_build(tmp_path, lock, weights_dir, data_dir,
                                                     capsys):
    numpy = lock["packages"]["numpy"]["file_name"]
    release = tmp_path / "pyodide-release"
    release.mkdir()
    (release / numpy).write_bytes(b"not the numpy wheel")
    out = tmp_path / "dist"
    status = build_py.main(["--out", str(out), "--weights", str(weights_dir), "--example",
                            str(data_dir / "t1_crop.nii.gz"), "--pyodide-dist", str(release)])
    error = capsys.readouterr().err
    assert status == 1
    assert numpy in error and "does not match pyodide-lock.json" in error
    assert not (out / "pyodide" / numpy).exists()
    assert not (out / "version.json").exists()


def test_a_release_folder_with_the_official_files_is_accepted(tmp_path, dist, lock):
    release = tmp_path / "pyodide-release"
    release.mkdir()
    numpy = lock["packages"]["numpy"]["file_name"]
    official = build_py.read_checked(lock["packages"]["numpy"],
                                     build_py.package_reader(None, build_py.ROOT / ".cache"))
    (release / numpy).write_bytes(official)
    dest = tmp_path / "out"
    dest.mkdir()
    reader = build_py.package_reader(release, tmp_path / "cache")
    build_py.copy_pyodide_packages(lock, ["numpy"], reader, dest)
    assert [p.name for p in dest.iterdir()] == [numpy]


def test_dist_has_the_page_runtime_and_models(dist):
    expected = ["index.html", "meshseg.js", "embed.html", "embed-demo.html", "js/constants.js",
                "js/api/segmenter.js", "js/api/worker-client.js", "js/element.js",
                "js/worker/worker.js",
                "js/worker/protocol.js", "js/worker/python-runtime.js",
                "js/worker/inference.js", "js/worker/backend.js", "niivue/index.js",
                "example/t1_crop.nii.gz", "README.md", "version.json", "models/index.json"]
    expected += [f"ort/{name}" for name in build_py.ORT_FILES]
    missing = [name for name in expected if not (dist / name).is_file()]
    assert missing == []
    served = [p.name for p in (dist / "ort").iterdir() if p.suffix not in (".br", ".gz")]
    assert sorted(served) == sorted(build_py.ORT_FILES)


def test_provider_table_covers_every_model_from_the_measured_rows(dist):
    from meshseg.bench.webgpu import provider_table

    table = json.loads((dist / "models" / "providers.json").read_text())
    measured = json.loads(build_py.WEBGPU_MEASURED.read_text())
    assert table == provider_table(measured)
    cards = json.loads((dist / "models" / "index.json").read_text())["models"]
    assert sorted(table["models"]) == sorted(card["id"] for card in cards)
    assert "models/providers.json" in build_py.service_worker_manifest(dist)["precache"]


def test_wheel_manifest_lists_the_wheels_in_dist(dist):
    listed = json.loads((dist / "wheels" / "manifest.json").read_text())
    assert listed["lock"] == list(build_py.PYODIDE_PACKAGES)
    manifest = listed["wheels"]
    on_disk = sorted(p.name for p in (dist / "wheels").glob("*.whl"))
    assert sorted(manifest) == on_disk
    assert {name.split("-")[0] for name in manifest} == {"scipy", "nibabel", "typing_extensions",
                                                          "pynrrd", "meshseg"}
    assert "nibabel-5.4.2-1notests-py3-none-any.whl" in manifest
    with zipfile.ZipFile(dist / "wheels" / "nibabel-5.4.2-1notests-py3-none-any.whl") as wheel:
        names = wheel.namelist()
    assert not [n for n in names if n.startswith("nibabel/tests/")]  # its test suite
    assert {"nibabel/__init__.pyc", "nibabel/nifti1.pyc"} <= set(names)


def test_models_match_their_cards_and_version_json(dist):
    index = json.loads((dist / "models" / "index.json").read_text())
    version = json.loads((dist / "version.json").read_text())
    assert index["models"], "no models converted"
    for card in index["models"]:
        onnx = card["runtime"]["onnx"]
        assert sha256(dist / "models" / onnx["file"]) == onnx["sha256"]
    assert version["models"] == {c["id"]: c["runtime"]["onnx"]["sha256"] for c in index["models"]}


def test_version_json_names_the_components(dist):
    version = json.loads((dist / "version.json").read_text())
    assert version["pyodide"] == "0.27.7"
    assert (version["numpy"], version["scipy"], version["nibabel"]) == ("2.0.2", "1.14.1",
                                                                        "5.4.2")
    assert version["onnxruntimeWeb"] == "1.30.0" and version["niivue"] == "0.69.0"
    assert version["example"] == "example/t1_crop.nii.gz"
    assert len(version["commit"]) == 40
    assert version["built"].endswith("Z")


def test_space_readme_front_matter(dist):
    text = (dist / "README.md").read_text(encoding="utf-8")
    _, front, body = text.split("---\n", 2)
    meta = yaml.safe_load(front)
    assert meta["sdk"] == "static" and meta["app_file"] == "index.html"
    assert meta["custom_headers"] == {
        "cross-origin-embedder-policy": "require-corp",
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-resource-policy": "cross-origin",
    }
    assert meta["title"] and meta["emoji"] and meta["colorFrom"] and meta["colorTo"]
    assert "# MeshSeg" in body


@pytest.mark.parametrize("path, mime", [
    ("/index.html", "text/html"),
    ("/js/worker/worker.js", "text/javascript"),
    ("/pyodide/pyodide.mjs", "text/javascript"),
    ("/pyodide/pyodide.asm.wasm", "application/wasm"),
    ("/pyodide/pyodide-lock.json", "application/json"),
    ("/pyodide/python_stdlib.zip", "application/zip"),
    ("/wheels/nibabel-5.4.2-1notests-py3-none-any.whl", "application/zip"),
    ("/models/model5_gw_ae/model.onnx", "application/octet-stream"),
    ("/example/t1_crop.nii.gz", "application/gzip"),
])
def test_server_sends_isolation_headers_and_mime_types(dist, server, path, mime):
    response, body = get(server, path)
    assert response.status == 200
    assert response.getheader("Content-Type").split(";")[0] == mime
    assert response.getheader("Cross-Origin-Opener-Policy") == "same-origin"
    assert response.getheader("Cross-Origin-Embedder-Policy") == "require-corp"
    assert response.getheader("Cross-Origin-Resource-Policy") == "cross-origin"
    encoding = response.getheader("Content-Encoding")
    if path.endswith((".gz", ".whl", ".zip", ".onnx")):
        assert encoding is None  # compressed files go out as they are
    else:
        assert encoding in (None, "gzip") and response.getheader("Vary") == "Accept-Encoding"
    data = gzip.decompress(body) if encoding == "gzip" else body
    assert data == (dist / path.lstrip("/")).read_bytes()


def test_server_sends_precompressed_siblings_only_when_accepted(dist, server):
    response, body = get(server, "/pyodide/pyodide.asm.wasm")
    assert response.getheader("Content-Encoding") == "gzip"
    assert len(body) < 0.5 * (dist / "pyodide/pyodide.asm.wasm").stat().st_size
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    connection.request("GET", "/pyodide/pyodide.asm.wasm", headers={"Accept-Encoding": "identity"})
    plain = connection.getresponse()
    assert plain.getheader("Content-Encoding") is None
    assert plain.read() == (dist / "pyodide/pyodide.asm.wasm").read_bytes()
    connection.close()
    assert not (dist / "example" / "t1_crop.nii.gz.gz").exists()


def test_service_worker_lists_every_file_with_its_sha256(dist):
    text = (dist / "sw.js").read_text(encoding="utf-8")
    manifest = json.loads(text.split("const BUILD = ", 1)[1].split(";\n", 1)[0])
    for name in manifest["precache"]:
        assert manifest["files"][name] == sha256(dist / name)
    assert "pyodide/pyodide.asm.wasm" in manifest["precache"]
    assert "ort/ort-wasm-simd-threaded.asyncify.wasm" not in manifest["precache"]  # WebGPU only
    assert "models/model5_gw_ae/model.onnx" in manifest["precacheModels"]
    assert not any(name.endswith((".br", ".gz")) and not name.endswith(".nii.gz")
                   for name in manifest["files"])


def test_server_isolation_headers_on_errors_too(server):
    response, _ = get(server, "/no/such/file.js")
    assert response.status == 404
    assert response.getheader("Cross-Origin-Embedder-Policy") == "require-corp"


def test_server_refuses_a_folder_without_a_site(tmp_path):
    with pytest.raises(FileNotFoundError, match="build the site first"):
        make_server(tmp_path, port=0)
