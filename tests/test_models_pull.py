"""meshseg models pull: download a deployment's models over HTTP (a real meshseg.serve
server on 127.0.0.1), sha256-checked, cached where `segment` looks; refusals name the
URL or file, exit 2 and leave no file behind."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from meshseg.cli import main
from meshseg.models.card import ModelCard
from meshseg.serve import make_server
from synthetic import affine_from, sphere_image

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
MODEL = "model5_gw_ae"  # the smallest model (25 kB of ONNX)
ONNX = f"{MODEL}/model.onnx"
CARD = f"{MODEL}/card.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def serving(root: Path):
    """meshseg.serve on a free loopback port; yields the site's URL (ending in /)."""
    server = make_server(root, port=0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def pull(capsys, url: str, folder: Path, *extra: str) -> tuple[int, str]:
    """Run `meshseg models pull` in-process: (exit status, stderr)."""
    code = main(["models", "pull", "--from", url, "--models", str(folder), *extra])
    return code, capsys.readouterr().err


def error_line(err: str) -> str:
    """The one `meshseg: error:` line that is all of stderr after a refusal."""
    lines = err.strip().splitlines()
    errors = [line for line in lines if line.startswith("meshseg: error: ")]
    assert len(errors) == 1, err
    assert "Traceback" not in err, err
    return errors[0]


def leftovers(folder: Path) -> list[str]:
    """Every file under `folder` (temporary .part files included), relative."""
    if not folder.exists():
        return []
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def dist_models() -> Path | None:
    models = DIST / "models"
    if (DIST / "index.html").is_file() and (models / "index.json").is_file() \
            and (models / ONNX).is_file():
        return models
    return None


def minimal_card(onnx: bytes) -> dict:
    card = ModelCard(id=MODEL, title="test model", task="tissue",
                     classes=[{"index": 0, "name": "background", "color": [0, 0, 0]},
                              {"index": 1, "name": "tissue", "color": [255, 255, 255]}],
                     conform={"shape": [256, 256, 256], "voxel_size": [1, 1, 1],
                              "orientation": "LIA"},
                     onnx={"file": ONNX, "sha256": sha256(onnx), "input": "input"})
    return card.to_dict()


@pytest.fixture
def tiny_site(tmp_path) -> Path:
    """A one-model deployment: index.html, models/index.json, the card and its ONNX file
    (model5_gw_ae's from dist/ when built, else stand-in bytes with a matching card)."""
    site = tmp_path / "site"
    (site / "models" / MODEL).mkdir(parents=True)
    (site / "index.html").write_text("<!doctype html><title>MeshSeg</title>\n")
    built = dist_models()
    if built:
        shutil.copyfile(built / ONNX, site / "models" / ONNX)
        shutil.copyfile(built / CARD, site / "models" / CARD)
    else:
        onnx = bytes(range(256)) * 40
        (site / "models" / ONNX).write_bytes(onnx)
        (site / "models" / CARD).write_text(json.dumps(minimal_card(onnx), indent=2) + "\n")
    card = json.loads((site / "models" / CARD).read_text())
    index = {"version": 2, "models": [card]}
    (site / "models" / "index.json").write_text(json.dumps(index, indent=2) + "\n")
    return site


def card_sha(site: Path) -> str:
    return json.loads((site / "models" / CARD).read_text())["runtime"]["onnx"]["sha256"]


# --- (a) the built site --------------------------------------------------------------


def test_pull_from_built_site_equals_dist_and_segment_uses_it(tmp_path, capsys):
    built = dist_models()
    if built is None:
        pytest.skip("dist/models is not built (python3 build.py --out dist): the pull from "
                    "the built site is not tested; the tiny-deployment tests still run.")
    cache = tmp_path / "cache"
    with serving(DIST) as site:
        code, err = pull(capsys, site + "models/", cache, "--model", MODEL)
    assert code == 0, err
    assert leftovers(cache) == ["index.json", CARD, ONNX]
    for name in (ONNX, CARD):
        assert (cache / name).read_bytes() == (built / name).read_bytes(), name
    size = (built / ONNX).stat().st_size
    assert f"{ONNX}: {size:,} bytes, sha256 ok" in err
    dist_card = next(c for c in json.loads((built / "index.json").read_text())["models"]
                     if c["id"] == MODEL)
    assert sha256((cache / ONNX).read_bytes()) == dist_card["runtime"]["onnx"]["sha256"]
    local = json.loads((cache / "index.json").read_text())
    assert local["models"] == [dist_card]

    assert main(["models", "--models", str(cache)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == [MODEL]

    scan, out = tmp_path / "sphere.nii.gz", tmp_path / "labels.nii.gz"
    head = sphere_image((48, 52, 44), affine_from(zooms=(1.5, 1.5, 1.5)),
                        centre_mm=(36.0, 39.0, 33.0), radius_mm=28.0, noise=5.0)
    nib.save(head, scan)  # 72 x 78 x 66 mm: big enough to count as a head scan
    code = main(["segment", str(scan), "-m", MODEL, "-o", str(out), "--models", str(cache),
                 "--weights", str(tmp_path / "no-weights"), "--threads", "1"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "converting" not in err  # the pulled model was used, nothing converted
    labels = nib.load(out)
    assert labels.shape == (48, 52, 44)
    assert set(np.unique(np.asarray(labels.dataobj))) <= {0, 1, 2}
    assert leftovers(cache) == ["index.json", CARD, ONNX]


# --- (b) a tiny deployment in tmp_path -----------------------------------------------


def test_pull_tiny_site_then_list_and_pull_again(tiny_site, tmp_path, capsys):
    cache = tmp_path / "cache"
    with serving(tiny_site) as site:
        # --models before the sub-command works too (the `models` command's own option)
        code = main(["models", "--models", str(cache), "pull", "--from", site + "models"])
        err = capsys.readouterr().err
        assert code == 0, err
        assert (cache / ONNX).read_bytes() == (tiny_site / "models" / ONNX).read_bytes()
        assert (cache / CARD).read_bytes() == (tiny_site / "models" / CARD).read_bytes()
        code, err = pull(capsys, site, cache)  # the site's root: models/ is found below it
    assert code == 0, err
    assert f"{ONNX}: already here, sha256 ok" in err
    assert leftovers(cache) == ["index.json", CARD, ONNX]
    assert main(["models", "--models", str(cache)]) == 0
    assert capsys.readouterr().out.split()[0] == MODEL


def test_tampered_onnx_is_refused_by_name_and_not_kept(tiny_site, tmp_path, capsys):
    onnx = tiny_site / "models" / ONNX
    data = bytearray(onnx.read_bytes())
    data[len(data) // 2] ^= 0x01  # one byte changed
    onnx.write_bytes(bytes(data))
    expected, actual = card_sha(tiny_site), sha256(bytes(data))
    assert expected != actual
    cache = tmp_path / "cache"
    with serving(tiny_site) as site:
        code, err = pull(capsys, site + "models/", cache, "--model", MODEL)
    assert code == 2
    line = error_line(err)
    assert line.startswith(f"meshseg: error: {ONNX}: sha256 {actual[:12]}… does not match "
                           f"its card ({expected[:12]}…); the file was not kept")
    assert site + "models/" + ONNX in line
    assert "sha256 ok" not in err
    assert leftovers(cache) == []  # no model file, no .part file, no index listing it


def test_tampered_download_leaves_the_cached_file_alone(tiny_site, tmp_path, capsys):
    cache = tmp_path / "cache"
    good = (tiny_site / "models" / ONNX).read_bytes()
    stale = good[:-1] + bytes([good[-1] ^ 0xFF])  # a cached copy that no longer matches
    (cache / MODEL).mkdir(parents=True)
    (cache / ONNX).write_bytes(stale)
    (tiny_site / "models" / ONNX).write_bytes(good[:10] + bytes([good[10] ^ 0x01]) + good[11:])
    with serving(tiny_site) as site:
        code, err = pull(capsys, site + "models/", cache)
    assert code == 2
    assert "does not match its card" in error_line(err)
    assert leftovers(cache) == [ONNX]  # the old file untouched, nothing added
    assert (cache / ONNX).read_bytes() == stale


def test_unreachable_server_is_one_line_and_exit_2(tmp_path):
    with socket.socket() as probe:  # a port nothing listens on: bound, then closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/models/"
    cache = tmp_path / "cache"
    done = subprocess.run([sys.executable, "-m", "meshseg", "models", "pull", "--from", url,
                           "--models", str(cache), "--timeout", "10"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(ROOT / "py")))
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith(f"meshseg: error: {url}index.json: cannot connect")
    assert not cache.exists()


def test_missing_onnx_404_is_named(tiny_site, tmp_path, capsys):
    (tiny_site / "models" / ONNX).unlink()
    cache = tmp_path / "cache"
    with serving(tiny_site) as site:
        code, err = pull(capsys, site + "models/", cache)
    assert code == 2
    assert error_line(err).startswith(f"meshseg: error: {site}models/{ONNX}: HTTP 404")
    assert leftovers(cache) == []
    assert not (cache / MODEL).exists()


def test_missing_index_404_is_named(tiny_site, tmp_path, capsys):
    with serving(tiny_site) as site:
        code, err = pull(capsys, site + "elsewhere/", tmp_path / "cache")
    assert code == 2
    line = error_line(err)
    assert line.startswith(f"meshseg: error: {site}elsewhere/index.json: HTTP 404")
    assert "https://<a MeshSeg site>/models/" in line


def test_bad_index_json_is_named(tiny_site, tmp_path, capsys):
    (tiny_site / "models" / "index.json").write_text("<html>not an index</html>")
    with serving(tiny_site) as site:
        code, err = pull(capsys, site + "models/", tmp_path / "cache")
    assert code == 2
    assert error_line(err).startswith(
        f"meshseg: error: {site}models/index.json: not valid JSON")
    assert leftovers(tmp_path / "cache") == []


def test_card_path_outside_the_folder_is_refused(tiny_site, tmp_path, capsys):
    index_path = tiny_site / "models" / "index.json"
    index = json.loads(index_path.read_text())
    index["models"][0]["runtime"]["onnx"]["file"] = "../../evil.onnx"
    index_path.write_text(json.dumps(index))
    with serving(tiny_site) as site:
        code, err = pull(capsys, site + "models/", tmp_path / "cache" / "m")
    assert code == 2
    assert "'../../evil.onnx' is not a path inside the models folder" in error_line(err)
    assert not (tmp_path / "cache").exists()  # refused before anything was written


def test_unknown_model_lists_known_ids(tiny_site, tmp_path, capsys):
    with serving(tiny_site) as site:
        code, err = pull(capsys, site + "models/", tmp_path / "cache", "--model", MODEL,
                         "--model", "nope")
    assert code == 2
    line = error_line(err)
    assert line == (f"meshseg: error: {site}models/index.json: unknown model 'nope'; "
                    f"available: {MODEL}.")
    assert leftovers(tmp_path / "cache") == []  # refused before any download


# --- segment without a model says how to get one -------------------------------------


def test_segment_without_models_says_how_to_get_one(tmp_path, capsys):
    empty_models, no_weights = tmp_path / "models", tmp_path / "weights"
    empty_models.mkdir()
    no_weights.mkdir()
    scan = tmp_path / "scan.nii.gz"
    nib.save(sphere_image((16, 16, 16)), scan)
    code = main(["segment", str(scan), "-m", MODEL, "-o", str(tmp_path / "out.nii.gz"),
                 "--models", str(empty_models), "--weights", str(no_weights)])
    assert code == 2
    line = error_line(capsys.readouterr().err)
    assert line.startswith(f"meshseg: error: model {MODEL}: not found: {empty_models} has no "
                           "index.json")
    assert (f"meshseg models pull --from https://<a MeshSeg site>/models/ --model {MODEL} "
            f"--models {empty_models}`") in line
    assert "meshseg convert" in line and str(no_weights) in line
    assert leftovers(empty_models) == []


def test_segment_with_a_model_not_pulled_says_how_to_pull_it(tiny_site, tmp_path, capsys):
    cache = tmp_path / "cache"
    shutil.copytree(tiny_site / "models", cache)
    code = main(["segment", str(tmp_path / "scan.nii.gz"), "-m", "mindgrab", "-o",
                 str(tmp_path / "out.nii.gz"), "--models", str(cache)])
    assert code == 2
    line = error_line(capsys.readouterr().err)
    assert line.startswith(f"meshseg: error: unknown model 'mindgrab'; available in {cache}: "
                           f"{MODEL}.")
    assert ("meshseg models pull --from https://<a MeshSeg site>/models/ --model mindgrab "
            f"--models {cache}`") in line


def test_docstring_examples_run():
    import doctest

    from meshseg.models import pull as module

    failures, tried = doctest.testmod(module)
    assert (failures, tried > 0) == (0, True)
