"""Serve the built site (``dist/``) locally, cross-origin isolated.

Multi-threaded WebAssembly (ONNX Runtime Web) needs ``SharedArrayBuffer``, which
browsers only grant to cross-origin isolated pages: every response carries
COOP ``same-origin``, COEP ``require-corp`` and CORP ``cross-origin``, the same
headers the Hugging Face Space sets. Compressed files (``.nii.gz``, ``.whl``) go
out as they are, with no ``Content-Encoding``, so the page receives the bytes of
the file.

Usage::

    python -m meshseg.serve dist --port 8000 [--quiet]
"""

from __future__ import annotations

import argparse
import functools
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

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


class IsolatedHandler(SimpleHTTPRequestHandler):
    """Static files with the isolation headers and explicit MIME types."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}
    protocol_version = "HTTP/1.1"

    def __init__(self, *args, quiet: bool = False, **kwargs) -> None:
        self.quiet = quiet
        super().__init__(*args, **kwargs)

    def end_headers(self) -> None:
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:
        if not self.quiet:
            super().log_message(format, *args)


def make_server(root: str | Path, host: str = "127.0.0.1", port: int = 8000,
                quiet: bool = False) -> ThreadingHTTPServer:
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

    Returns
    -------
    ThreadingHTTPServer
        Call ``serve_forever()`` (and ``shutdown()`` from another thread).
    """
    root = Path(root)
    if not (root / "index.html").is_file():
        raise FileNotFoundError(f"{root} has no index.html: build the site first "
                                "(python build.py --out dist).")
    handler = functools.partial(IsolatedHandler, directory=str(root), quiet=quiet)
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def serve(root: str | Path, host: str = "127.0.0.1", port: int = 8000,
          quiet: bool = False) -> None:
    """Serve ``root`` until interrupted, printing the URL (with the actual port)."""
    server = make_server(root, host, port, quiet)
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
    args = parser.parse_args(argv)
    try:
        serve(args.root, args.host, args.port, args.quiet)
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
