"""The site's Content-Security-Policy: "nothing leaves the browser", enforced by it.

One policy, defined here, reaches the browser three ways, so that it holds on any host:

- ``python -m meshseg.serve`` sends it as a header with every response;
- the service worker (``sw.js``, its copy written by build.py) adds it to every response it
  serves, for hosts that cannot set headers;
- every HTML page carries it in a ``<meta http-equiv>`` tag (build.py), for the first load
  on such a host, before the service worker runs (a ``<meta>`` policy cannot carry
  ``frame-ancestors``, so that one directive is left out there).

A page or a worker under it can fetch only from the site's own origin (and ``blob:``/
``data:`` URLs it made itself), and run only the site's own scripts and WebAssembly
(``'wasm-unsafe-eval'`` is what Pyodide and ONNX Runtime Web need to compile it). Only the
pages meant to be embedded (:data:`FRAMEABLE`) may be framed by other origins.

>>> policy("index.html").startswith("default-src 'self'; ")
True
>>> "frame-ancestors *" in policy("embed.html"), "frame-ancestors 'self'" in policy("x.html")
(True, True)
>>> "frame-ancestors" in policy("index.html", meta=True)
False
"""

from __future__ import annotations

#: The directives every document and worker script of the site gets.
DIRECTIVES = (
    ("default-src", ("'self'",)),
    ("script-src", ("'self'", "'wasm-unsafe-eval'")),
    ("worker-src", ("'self'", "blob:")),
    ("connect-src", ("'self'", "blob:", "data:")),
    ("img-src", ("'self'", "blob:", "data:")),
    ("style-src", ("'self'",)),
    ("font-src", ("'self'", "data:")),
    ("media-src", ("'self'", "blob:", "data:")),
    ("object-src", ("'none'",)),
    ("base-uri", ("'self'",)),
    ("form-action", ("'none'",)),
)

#: Pages that other origins may frame: the iframe API, and the app page itself.
FRAMEABLE = ("embed.html", "index.html")


def frame_ancestors(path: str) -> str:
    """Who may frame the document at ``path`` (relative to the site root; "" is index.html).

    >>> frame_ancestors(""), frame_ancestors("embed-demo.html")
    ('*', "'self'")
    """
    name = path.rsplit("/", 1)[-1] or "index.html"
    return "*" if name in FRAMEABLE else "'self'"


def policy(path: str, meta: bool = False) -> str:
    """The Content-Security-Policy value for the file at ``path``.

    Parameters
    ----------
    path : str
        The file's path relative to the site root ("" or a folder: its index.html).
    meta : bool
        For a ``<meta http-equiv>`` tag: without ``frame-ancestors``, which browsers
        ignore there.

    Returns
    -------
    str
        Directives separated by ``"; "``.
    """
    base = _base()
    return base if meta else f"{base}; frame-ancestors {frame_ancestors(path)}"


def meta_tag() -> str:
    """The ``<meta http-equiv>`` element build.py puts in each page's ``<head>``.

    >>> meta_tag().startswith('<meta http-equiv="Content-Security-Policy" content="default-src')
    True
    """
    return f'<meta http-equiv="Content-Security-Policy" content="{policy("", meta=True)}">'


def for_service_worker() -> dict:
    """The policies ``sw.js`` sends: ``pages`` by file name (the frameable ones), else ``default``.

    >>> sorted(for_service_worker()["pages"]) == sorted(FRAMEABLE)
    True
    """
    return {"default": policy("other.html"), "pages": {name: policy(name) for name in FRAMEABLE}}


def _base() -> str:
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in DIRECTIVES)
