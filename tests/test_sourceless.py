"""tools/sourceless.py: a zip's Python sources replaced by bytecode that still imports.

Runs with this CPython (the build runs the same code in Pyodide's CPython 3.12), on
small synthetic wheels in tmp_path.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("sourceless", ROOT / "tools" / "sourceless.py")
sourceless_module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sourceless_module)
sourceless = sourceless_module.sourceless
differences = sourceless_module.differences
HEADER = importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little")


def record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def wheel(package: str, modules: dict[str, str], extra: dict[str, bytes] = ()) -> bytes:
    """A wheel with ``modules`` (name -> source) under ``package``, extra members and a
    RECORD listing everything."""
    members = {f"{package}/{name}.py": source.encode() for name, source in modules.items()}
    members.update(dict(extra))
    record = f"{package}-1.0.dist-info/RECORD"
    lines = [record_line(name, data) for name, data in members.items()] + [f"{record},,"]
    members[record] = ("\n".join(lines) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


SOURCES = {
    "__init__": "from .core import twice\nVALUE = twice(21)\n",
    "core": '"""Doc kept."""\n\ndef twice(x):\n    assert x is not None\n    return 2 * x\n',
}


def test_compiled_wheel_imports_without_its_sources(tmp_path, monkeypatch):
    data = sourceless(wheel("pkg_src_less", SOURCES, {"pkg_src_less/table.csv": b"a,b\n"}))
    path = tmp_path / "pkg.whl"
    path.write_bytes(data)
    names = zipfile.ZipFile(path).namelist()
    assert not [n for n in names if n.endswith(".py")]
    assert {"pkg_src_less/__init__.pyc", "pkg_src_less/core.pyc", "pkg_src_less/table.csv"} \
        <= set(names)
    monkeypatch.syspath_prepend(str(path))
    module = importlib.import_module("pkg_src_less")
    try:
        assert module.VALUE == 42
        assert module.twice.__module__ == "pkg_src_less.core"
        assert sys.modules["pkg_src_less.core"].__doc__ == "Doc kept."
        assert module.__file__.endswith("__init__.pyc")
    finally:
        for name in ("pkg_src_less", "pkg_src_less.core"):
            sys.modules.pop(name, None)


def test_record_lists_the_bytecode_and_other_members_are_unchanged():
    original = wheel("pkg", SOURCES, {"pkg/data.bin": bytes(range(256))})
    compiled = sourceless(original)
    assert differences(original, compiled, importlib.util.MAGIC_NUMBER) == []
    with zipfile.ZipFile(io.BytesIO(compiled)) as archive:
        record = archive.read("pkg-1.0.dist-info/RECORD").decode()
        assert archive.read("pkg/data.bin") == bytes(range(256))
        pyc = archive.read("pkg/core.pyc")
    assert record_line("pkg/core.pyc", pyc) in record.splitlines()
    assert "pkg/core.py," not in record
    assert pyc.startswith(HEADER)  # unchecked hash-based: the source is never looked for
    assert pyc[8:16] == importlib.util.source_hash(SOURCES["core"].encode())


def test_a_source_that_does_not_compile_is_kept():
    original = wheel("pkg", {"ok": "X = 1\n", "template": "def broken(:\n"})
    compiled = sourceless(original)
    names = zipfile.ZipFile(io.BytesIO(compiled)).namelist()
    assert "pkg/template.py" in names and "pkg/ok.pyc" in names
    assert differences(original, compiled, importlib.util.MAGIC_NUMBER) == []


@pytest.mark.parametrize("tamper", ["member", "header", "record"])
def test_differences_finds_a_tampered_archive(tamper):
    original = wheel("pkg", SOURCES, {"pkg/data.txt": b"same"})
    members = {}
    with zipfile.ZipFile(io.BytesIO(sourceless(original))) as archive:
        for name in archive.namelist():
            members[name] = archive.read(name)
    if tamper == "member":
        members["pkg/data.txt"] = b"changed"
    elif tamper == "header":
        members["pkg/core.pyc"] = b"\x00\x00\r\n" + members["pkg/core.pyc"][4:]
    else:
        members["pkg/extra.txt"] = b"not in RECORD"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    found = differences(original, buffer.getvalue(), importlib.util.MAGIC_NUMBER)
    expected = {"member": "pkg/data.txt: changed", "header": "pkg/core.pyc: header",
                "record": "RECORD does not list pkg/extra.txt"}[tamper]
    assert any(problem.startswith(expected) for problem in found), found


def test_docstring_examples_run():
    import doctest

    found = doctest.testmod(sourceless_module)
    assert found.attempted > 0 and found.failed == 0
