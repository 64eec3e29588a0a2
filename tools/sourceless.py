"""Replace the Python sources in a zip archive (a wheel, Pyodide's stdlib zip) by bytecode.

Pyodide ships its standard library and its packages as ``.py`` sources, so every import
in the browser first compiles Python source, in WebAssembly. ``build.py`` runs
:func:`sourceless` inside Pyodide itself (``tools/compile-python.mjs``: Node.js with
the site's own CPython 3.12), so the bytecode matches the interpreter that loads it.

Each ``x.py`` becomes ``x.pyc`` beside it (the sourceless layout that ``zipimport`` and
``SourcelessFileLoader`` import), as an *unchecked* hash-based pyc (PEP 552): the import
system never looks for the source. Docstrings and asserts are kept (optimisation level
0). A wheel's ``RECORD`` is rewritten to list the ``.pyc`` files with their sha256 and
size; every other member is copied byte for byte. A source that does not compile (a
template, Python 2 test data) stays as it is.

Examples
--------
>>> import io, zipfile
>>> buffer = io.BytesIO()
>>> with zipfile.ZipFile(buffer, "w") as archive:
...     archive.writestr("pkg/__init__.py", "ANSWER = 42\\n")
...     archive.writestr("pkg/data.txt", "kept")
>>> with zipfile.ZipFile(io.BytesIO(sourceless(buffer.getvalue()))) as archive:
...     sorted(archive.namelist())
['pkg/__init__.pyc', 'pkg/data.txt']
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import marshal
import zipfile

# PEP 552 flags: hash-based (bit 0), check_source off (bit 1 clear).
UNCHECKED_HASH = 0b01


def sourceless(data: bytes) -> bytes:
    """The archive ``data`` with every compilable ``.py`` member replaced by its ``.pyc``.

    Parameters
    ----------
    data : bytes
        A zip archive (a wheel, or a zip on ``sys.path``).

    Returns
    -------
    bytes
        The new archive: members in the same order, ``.pyc`` in place of ``.py``.
    """
    replaced = {}
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        members = source.infolist()
        for info in members:
            if info.filename.endswith(".py"):
                pyc = bytecode(source.read(info), info.filename)
                if pyc is not None:
                    replaced[info.filename] = pyc
        for info in members:
            if info.filename in replaced:
                target.writestr(renamed(info, info.filename + "c"), replaced[info.filename])
            elif info.filename.endswith(".dist-info/RECORD"):
                target.writestr(info, record(source.read(info), replaced))
            else:
                target.writestr(info, source.read(info))
    return output.getvalue()


def bytecode(source: bytes, filename: str) -> bytes | None:
    """An unchecked hash-based pyc of ``source`` for this interpreter, or None when it
    does not compile."""
    try:
        code = compile(source, filename, "exec", dont_inherit=True, optimize=0)
    except (SyntaxError, ValueError):
        return None
    header = importlib.util.MAGIC_NUMBER + UNCHECKED_HASH.to_bytes(4, "little")
    return header + importlib.util.source_hash(source) + marshal.dumps(code)


def renamed(info: zipfile.ZipInfo, name: str) -> zipfile.ZipInfo:
    """A copy of ``info`` (date, permissions) under a new name."""
    copy = zipfile.ZipInfo(name, date_time=info.date_time)
    copy.external_attr = info.external_attr
    copy.compress_type = zipfile.ZIP_DEFLATED
    return copy


def record(text: bytes, replaced: dict[str, bytes]) -> bytes:
    """A wheel RECORD with the replaced sources listed as their ``.pyc``."""
    lines = []
    for line in text.decode("utf-8").splitlines():
        name = line.split(",", 1)[0]
        if name in replaced:
            pyc = replaced[name]
            digest = base64.urlsafe_b64encode(hashlib.sha256(pyc).digest()).rstrip(b"=")
            line = f"{name}c,sha256={digest.decode()},{len(pyc)}"
        lines.append(line)
    return ("\n".join(lines) + "\n").encode("utf-8")


def differences(original: bytes, compiled: bytes, magic: bytes) -> list[str]:
    """Why ``compiled`` is not :func:`sourceless` of ``original`` for the interpreter
    whose pyc magic number is ``magic`` (empty when it is).

    Checks names (each ``.py`` either kept or replaced by a ``.pyc`` of that magic with
    the unchecked-hash flag), that every other member is byte-identical, and that a
    RECORD lists every member of the compiled archive with its sha256.
    """
    problems = []
    with zipfile.ZipFile(io.BytesIO(original)) as before, \
            zipfile.ZipFile(io.BytesIO(compiled)) as after:
        names = set(after.namelist())
        for name in before.namelist():
            if name.endswith(".py") and name + "c" in names and name not in names:
                header = after.read(name + "c")[:8]
                if header != magic + UNCHECKED_HASH.to_bytes(4, "little"):
                    problems.append(f"{name}c: header {header.hex()}")
            elif name not in names:
                problems.append(f"{name}: missing")
            elif not name.endswith("RECORD") and after.read(name) != before.read(name):
                problems.append(f"{name}: changed")
        problems += record_problems(after)
    return problems


def record_problems(archive: zipfile.ZipFile) -> list[str]:
    """Members a wheel's RECORD misses or lists with the wrong sha256."""
    records = [n for n in archive.namelist() if n.endswith(".dist-info/RECORD")]
    if not records:
        return []
    listed = {}
    for line in archive.read(records[0]).decode("utf-8").splitlines():
        name, digest, _ = line.rsplit(",", 2)
        listed[name] = digest
    problems = [f"RECORD does not list {n}" for n in archive.namelist() if n not in listed]
    for name, digest in listed.items():
        if digest and name in archive.namelist():
            actual = base64.urlsafe_b64encode(hashlib.sha256(archive.read(name)).digest())
            if digest != "sha256=" + actual.rstrip(b"=").decode():
                problems.append(f"RECORD: wrong sha256 for {name}")
    return problems
