"""Serve the built site (``dist/``) locally, cross-origin isolated, under its CSP.

Multi-threaded WebAssembly (ONNX Runtime Web) needs ``SharedArrayBuffer``, which
browsers only grant to cross-origin isolated pages: every response carries
COOP ``same-origin``, COEP ``require-corp`` and CORP ``cross-origin``, the same
headers the Hugging Face Space sets. Compressed files (``.nii.gz``, ``.whl``) go
out as they are, with no ``Content-Encoding``, so the page receives the bytes of
the file. Text and WebAssembly files with a precompressed sibling written by
build.py (``<file>.br``, ``<file>.gz``) go out as that sibling with
``Content-Encoding`` when the request's ``Accept-Encoding`` allows it, and with
``Vary: Accept-Encoding`` either way. Every response carries the site's
Content-Security-Policy (:mod:`meshseg.security.csp`).

``--plain`` serves as an ordinary static host does (a lab website, a blog): none of
those headers, so pages are not cross-origin isolated and only their ``<meta>``
policy applies. ``--no-csp`` keeps the isolation headers but sends no policy: a host
page of another site (the tests' host pages, with inline scripts of their own).

Usage::

    python -m meshseg.serve dist --port 8000 [--quiet] [--plain | --no-csp]
"""

from __future__ import annotations

import argparse
import email.utils
import functools
import json
import os
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from meshseg.security.csp import policy

ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "cross-origin",
    # Public static files: host pages on other origins may import meshseg.js / element.js
    # (module scripts and the worker's fetches are CORS requests).
    "Access-Control-Allow-Origin": "*",
}

MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".onnx": "application/octet-stream",
    ".gz": "application/gzip",
    ".mgz": "application/octet-stream",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".md": "text/markdown; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


# Types build.py precompresses (its COMPRESSIBLE); never .gz, .whl, .zip themselves.
COMPRESSIBLE = (".wasm", ".js", ".mjs", ".json", ".css", ".html", ".svg", ".webmanifest",
                ".md", ".txt")
# Content-Encoding -> sibling suffix, in order of preference.
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))


def accepted_encodings(header: str | None) -> set[str]:
    """Codings an ``Accept-Encoding`` header allows (q > 0)."""
    allowed = set()
    for part in (header or "").split(","):
        name, _, params = part.strip().partition(";")
        quality = params.strip().removeprefix("q=") if params.strip().startswith("q=") else "1"
        try:
            if float(quality) > 0:
                allowed.add(name.strip().lower())
        except ValueError:
            continue
    return allowed


class IsolatedHandler(SimpleHTTPRequestHandler):
    """Static files with the isolation headers and explicit MIME types."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}
    protocol_version = "HTTP/1.1"

    def __init__(self, *args, quiet: bool = False, log_json=None, plain: bool = False,
                 csp: bool = True, **kwargs) -> None:
        self.quiet = quiet
        self.plain = plain
        self.csp = csp and not plain
        self.log_json = log_json
        self._sent: dict = {}
        super().__init__(*args, **kwargs)

    def send_response(self, code, message=None) -> None:
        self._sent = {"status": code}
        super().send_response(code, message)

    def send_header(self, keyword, value) -> None:
        if keyword.lower() in ("content-length", "content-encoding"):
            self._sent[keyword.lower()] = value
        super().send_header(keyword, value)

    def send_head(self):
        """The file, or its precompressed sibling when the client accepts it."""
        path = self.translate_path(self.path)
        if not path.endswith(COMPRESSIBLE) or not os.path.isfile(path):
            return super().send_head()
        self._vary = True
        accepted = accepted_encodings(self.headers.get("Accept-Encoding"))
        for encoding, suffix in ENCODINGS:
            if encoding in accepted and os.path.isfile(path + suffix):
                return self._send_encoded(path, path + suffix, encoding)
        return super().send_head()

    def _send_encoded(self, path: str, sibling: str, encoding: str):
        handle = open(sibling, "rb")  # noqa: SIM115 - copyfile() reads it, then it is closed
        stat = os.fstat(handle.fileno())
        since = self.headers.get("If-Modified-Since")
        if since and not self.headers.get("If-None-Match"):
            try:
                if int(stat.st_mtime) <= email.utils.parsedate_to_datetime(since).timestamp():
                    handle.close()
                    self.send_response(304)
                    self.end_headers()
                    return None
            except (TypeError, ValueError, OverflowError, IndexError):
                pass
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(stat.st_size))
        self.send_header("Last-Modified", self.date_time_string(stat.st_mtime))
        self.end_headers()
        return handle

    def end_headers(self) -> None:
        if getattr(self, "_vary", False):
            self.send_header("Vary", "Accept-Encoding")
            self._vary = False
        if not self.plain:
            for name, value in ISOLATION_HEADERS.items():
                self.send_header(name, value)
        if self.csp:
            self.send_header("Content-Security-Policy", policy(self._site_path()))
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()
        if self.log_json is not None:
            self._log_transfer()

    def _site_path(self) -> str:
        """The request's path relative to the site root, without the query."""
        return unquote(urlsplit(self.path).path).lstrip("/")

    def _log_transfer(self) -> None:
        """One JSON line per response: path, status, body bytes sent, encoding."""
        sent = self._sent
        body = 0 if self.command == "HEAD" or sent.get("status") in (204, 304) \
            else int(sent.get("content-length", 0))
        line = json.dumps({"path": self.path, "status": sent.get("status"), "bytes": body,
                           "encoding": sent.get("content-encoding")})
        with open(self.log_json, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def log_message(self, format: str, *args) -> None:
        if not self.quiet:
            super().log_message(format, *args)


def make_server(root: str | Path, host: str = "127.0.0.1", port: int = 8000,
                quiet: bool = False, log_json: str | None = None,
                plain: bool = False, csp: bool = True) -> ThreadingHTTPServer:
    """A threaded HTTP server for ``root``, bound but not yet serving.

    Parameters
    ----------
    root : str or Path
        Folder to serve (the build output).
    host : str
        Interface to bind; loopback by default.
    port : int
        Port; 0 picks a free one (read it from ``server.server_address[1]``).
    quiet : bool
        Do not log each request.
    log_json : str, optional
        Append one JSON line per response (path, status, body bytes, encoding)
        to this file: what a visit transferred, as this server sent it.
    plain : bool
        Send neither the isolation headers nor the Content-Security-Policy, as an
        ordinary static host does.
    csp : bool
        Send the Content-Security-Policy (False: a host page of another site).

    Returns
    -------
    ThreadingHTTPServer
        Call ``serve_forever()`` (and ``shutdown()`` from another thread).
    """
    root = Path(root)
    if not (root / "index.html").is_file():
        raise FileNotFoundError(f"{root} has no index.html: build the site first "
                                "(python build.py --out dist).")
    handler = functools.partial(IsolatedHandler, directory=str(root), quiet=quiet,
                                log_json=log_json, plain=plain, csp=csp)
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def serve(root: str | Path, host: str = "127.0.0.1", port: int = 8000,
          quiet: bool = False, log_json: str | None = None, plain: bool = False,
          csp: bool = True) -> None:
    """Serve ``root`` until interrupted, printing the URL (with the actual port)."""
    server = make_server(root, host, port, quiet, log_json, plain, csp)
    bound_host, bound_port = server.server_address[:2]
    print(f"Serving {Path(root).resolve()} at http://{bound_host}:{bound_port}/ "
          "(Ctrl+C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m meshseg.serve",
                                     description="Serve the built site, cross-origin isolated.")
    parser.add_argument("root", nargs="?", default="dist", help="folder to serve (dist)")
    parser.add_argument("--port", type=int, default=8000, help="port (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="interface (loopback)")
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    parser.add_argument("--log-json", metavar="FILE",
                        help="append one JSON line per response (path, status, bytes, encoding)")
    parser.add_argument("--plain", action="store_true",
                        help="as an ordinary static host: no COOP/COEP/CORP, no CSP header")
    parser.add_argument("--no-csp", dest="csp", action="store_false",
                        help="isolation headers, but no Content-Security-Policy header")
    args = parser.parse_args(argv)
    try:
        serve(args.root, args.host, args.port, args.quiet, args.log_json, args.plain, args.csp)
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port} ({exc.strerror}); "
              "choose another port with --port (0 picks a free one).", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
