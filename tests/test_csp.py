"""The site's Content-Security-Policy reaches the browser the three ways it is meant to:
``meshseg.serve``'s header (per page: who may frame it), the pages' ``<meta>`` (build.py)
and the service worker's copy (its manifest). Hosts that send none of it: ``--plain``.
The browser's enforcement of it: tests/e2e/csp.test.mjs."""

from __future__ import annotations

import http.client
import json
import threading

import build as build_py
import pytest

from meshseg.security.csp import DIRECTIVES, FRAMEABLE, for_service_worker, meta_tag, policy
from meshseg.serve import make_server


@pytest.fixture()
def site(tmp_path):
    (tmp_path / "index.html").write_text('<!doctype html><meta charset="utf-8"><title>x</title>')
    (tmp_path / "embed.html").write_text('<!doctype html><meta charset="utf-8"><title>e</title>')
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "worker.js").write_text("postMessage(1);\n")
    return tmp_path


def headers(root, path, **options) -> dict:
    server = make_server(root, port=0, quiet=True, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        connection.close()
        sent = {name.lower(): value for name, value in response.getheaders()}
        return sent | {"status": response.status}
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("path, ancestors", [
    ("/", "*"), ("/index.html", "*"), ("/embed.html?origins=https%3A%2F%2Fa.org", "*"),
    ("/js/worker.js", "'self'"), ("/no/such/page.html", "'self'"),
])
def test_server_sends_the_policy_with_every_response(site, path, ancestors):
    sent = headers(site, path)
    assert sent["content-security-policy"] == policy(path.split("?")[0].lstrip("/"))
    assert sent["content-security-policy"].endswith(f"; frame-ancestors {ancestors}")
    assert sent["cross-origin-embedder-policy"] == "require-corp"


def test_policy_allows_no_other_origin_and_no_inline_script():
    text = policy("index.html")
    directives = dict(part.split(" ", 1) for part in text.split("; "))
    assert directives["connect-src"] == "'self' blob: data:"
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self' 'wasm-unsafe-eval'"
    assert directives["worker-src"] == "'self' blob:"
    assert "unsafe-inline" not in text and "'unsafe-eval'" not in text
    sources = [source for _, listed in DIRECTIVES for source in listed]
    assert not any(source.startswith(("http", "*")) for source in sources)


def test_plain_server_sends_neither_isolation_nor_policy(site):
    sent = headers(site, "/index.html", plain=True)
    assert sent["status"] == 200
    assert "content-security-policy" not in sent and "cross-origin-opener-policy" not in sent


def test_host_server_is_isolated_without_a_policy(site):
    sent = headers(site, "/index.html", csp=False)
    assert sent["cross-origin-opener-policy"] == "same-origin"
    assert "content-security-policy" not in sent


def test_build_puts_the_meta_policy_in_every_page_after_its_charset(site):
    build_py.add_csp_meta(site)
    for page in ("index.html", "embed.html"):
        text = (site / page).read_text()
        assert text.index('<meta charset="utf-8">') < text.index(meta_tag())
        assert text.count("Content-Security-Policy") == 1
    assert "frame-ancestors" not in meta_tag()  # ignored (with a console error) in <meta>


def test_build_refuses_a_page_without_a_charset_to_anchor_the_policy(site):
    (site / "bare.html").write_text("<!doctype html><title>no charset</title>")
    with pytest.raises(build_py.BuildError, match="bare.html"):
        build_py.add_csp_meta(site)


def test_service_worker_gets_the_same_policies():
    copy = json.loads(json.dumps(for_service_worker()))
    assert set(copy["pages"]) == set(FRAMEABLE)
    for name in FRAMEABLE:
        assert copy["pages"][name] == policy(name)
    assert copy["default"] == policy("js/worker/worker.js")
