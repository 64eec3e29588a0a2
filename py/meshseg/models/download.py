"""Downloading one file over HTTP(S) safely: atomically, hashed as it streams, and every
failure a :class:`~meshseg.errors.ModelError` naming the URL (used by :mod:`.pull`).

Standard library only.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from meshseg import __version__
from meshseg.errors import ModelError

TIMEOUT_S = 60.0
CHUNK_BYTES = 1 << 16

#: ``progress(name, bytes_so_far, total_or_None)``.
Progress = Callable[[str, int, "int | None"], None]


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(url: str, dest: str | Path, sha256: str | None = None, name: str | None = None,
             progress: Progress | None = None, timeout: float = TIMEOUT_S) -> int:
    """Download `url` to `dest`, atomically, refusing it unless its sha256 matches.

    The bytes go to a temporary file beside `dest` (``.<name>.*.part``), hashed as
    they arrive; it is renamed to `dest` only when complete and matching `sha256`,
    and deleted on any failure (a mismatch, a lost connection, an interrupt).

    Parameters
    ----------
    url : str
        What to download.
    dest : str or Path
        Where the file goes (its folder is created).
    sha256 : str, optional
        Expected hex digest; None to accept any content (a card).
    name : str, optional
        How to name the file in messages (default: `dest`'s name).
    progress : callable, optional
        ``progress(name, bytes_so_far, total_or_None)``, called as blocks arrive
        (before the sha256 is checked).
    timeout : float
        Seconds to wait for the server at each step.

    Returns
    -------
    int
        Bytes written.

    Raises
    ------
    ModelError
        Naming the file and URL: a sha256 mismatch ("the file was not kept"), an
        HTTP error, an unreachable server or a truncated transfer.
    """
    dest = Path(dest)
    name = name or dest.name
    response = _open(url, timeout)  # before any file exists: a 404 leaves nothing behind
    made = not dest.parent.exists()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.",
                                        suffix=".part")
    except BaseException:
        response.close()
        raise
    try:
        with os.fdopen(handle, "wb") as out, response:
            total = _length(response)
            digest, done = hashlib.sha256(), 0
            if progress:
                progress(name, 0, total)
            while block := _read(response, url, done):
                out.write(block)
                digest.update(block)
                done += len(block)
                if progress:
                    progress(name, done, total)
        if total is not None and done != total:
            raise ModelError(f"{url}: the server sent {done} of {total} bytes; "
                             f"{name} was not kept. Try again.")
        got = digest.hexdigest()
        if sha256 is not None and got != sha256.lower():
            raise ModelError(f"{name}: sha256 {got[:12]}… does not match its card "
                             f"({sha256.lower()[:12]}…); the file was not kept "
                             f"(downloaded from {url}).")
        os.replace(temp, dest)
        return done
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        if made:
            _remove_if_empty(dest.parent)
        raise


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # not empty (or already gone): leave it


def fetch_text(url: str, timeout: float = TIMEOUT_S) -> str:
    """The body of `url` as UTF-8 text; ModelError naming the URL otherwise."""
    with _open(url, timeout) as response:
        data = _read(response, url, 0, size=-1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelError(f"{url}: not UTF-8 text ({exc.reason}); is this a MeshSeg models "
                         "folder?") from exc


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class NotFound(ModelError):
    """HTTP 404 (or a missing file:// path): callers may try another place."""


def _open(url: str, timeout: float):
    """urlopen with identity encoding; ModelError naming the URL when it fails."""
    request = urllib.request.Request(url, headers={"User-Agent": f"meshseg/{__version__}",
                                                   "Accept-Encoding": "identity"})
    try:
        return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - scheme checked
    except urllib.error.HTTPError as exc:
        exc.close()
        kind = NotFound if exc.code == 404 else ModelError
        raise kind(f"{url}: HTTP {exc.code} {exc.reason}.") from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise ModelError(f"{url}: no answer within {timeout:g} s; try again later.") \
                from exc
        reason = getattr(exc.reason, "strerror", None) or exc.reason
        kind = NotFound if isinstance(exc.reason, FileNotFoundError) else ModelError
        raise kind(f"{url}: cannot connect ({reason}); check the URL and your network.") \
            from exc
    except TimeoutError as exc:
        raise ModelError(f"{url}: no answer within {timeout:g} s; try again later.") from exc
    except (OSError, ValueError) as exc:
        raise ModelError(f"{url}: cannot connect ({exc}).") from exc


def _read(response, url: str, done: int, size: int = CHUNK_BYTES) -> bytes:
    """One block (`size` bytes, -1 for all); ModelError naming the URL when it breaks."""
    try:
        return response.read(size)
    except TimeoutError as exc:
        raise ModelError(f"{url}: the server stopped sending after {done} bytes; "
                         "try again.") from exc
    except OSError as exc:
        raise ModelError(f"{url}: the connection broke after {done} bytes ({exc}); "
                         "try again.") from exc
    except http.client.HTTPException as exc:  # IncompleteRead and the like
        raise ModelError(f"{url}: incomplete transfer after {done} bytes "
                         f"({type(exc).__name__}); try again.") from exc


def _length(response) -> int | None:
    value = response.headers.get("Content-Length") if response.headers else None
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
