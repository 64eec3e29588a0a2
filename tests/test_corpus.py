"""The awkward-input corpus (tests/corpus.py) through the CLI and the API.

Every case must give exactly its outcome: a result without warnings (and its
volume in mL), exactly one plausibility warning, or a named refusal; and stderr
must hold nothing but progress lines and that one warning or error line. The
network is the transparent fake of tests/corpus.py (label what is bright); the
cases where the real network's behaviour matters run model5_gw_ae on t1_crop.
"""

from __future__ import annotations

import re
import tracemalloc

import nibabel as nib
import numpy as np
import pytest

from corpus import ANY, CORPUS_SIZE, T1, make_corpus, threshold
from meshseg import cli
from meshseg.errors import InputImageError
from meshseg.loading import load_scan
from meshseg.models.card import ModelCard
from meshseg.pipeline import open_job, run_job
from meshseg.plausibility import result_warnings

PROGRESS = re.compile(r"^\[\s*\d+\.\d+s\] ")


def fake_card(model_id, expects):
    """A brain-mask card on the real 256 mm grid at 2 mm (128^3: fast)."""
    return ModelCard(
        id=model_id, title=f"fake {model_id}", task="brain mask", description="threshold",
        classes=[{"index": 0, "name": "background", "color": [0, 0, 0]},
                 {"index": 1, "name": "brain", "color": [255, 0, 0]}],
        normalisation="minmax",
        conform={"shape": [128] * 3, "voxel_size": [2.0] * 3, "orientation": "LIA",
                 "scale_to_uint8": True},
        pre_model=None, crop_padding=4, crop_threshold=None, layers=1, channels=1,
        activation="relu", dilations=[1], parameters=0, flops_per_voxel=0, receptive_radius=None,
        licence="MIT", source={}, onnx={"file": "model.onnx", "sha256": "0" * 64},
        expects=expects)


CARDS = {"fake_t1": fake_card("fake_t1", T1), "fake_any": fake_card("fake_any", ANY)}
MODEL = {T1: "fake_t1", ANY: "fake_any"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    return folder, make_corpus(folder)


INDICES = range(CORPUS_SIZE)


def test_corpus_is_large_seeded_and_covers_every_outcome(tmp_path, corpus):
    folder, cases = corpus
    again = make_corpus(tmp_path)
    assert again == cases and len(cases) == CORPUS_SIZE >= 40
    assert all((tmp_path / c.file).read_bytes() == (folder / c.file).read_bytes()
               for c in again)
    kinds = [c.outcome for c in cases]
    assert {k: kinds.count(k) for k in set(kinds)} == {
        "result": kinds.count("result"), "warning": kinds.count("warning"),
        "error": kinds.count("error")}
    assert min(kinds.count(k) for k in ("result", "warning", "error")) >= 6
    assert max((folder / c.file).stat().st_size for c in cases) < 10_000_000


@pytest.mark.parametrize("index", INDICES)
def test_api_outcome(corpus, index):
    folder, cases = corpus
    case = cases[index]
    path = folder / case.file
    def run_case():
        return run_job(open_job(path.read_bytes(), path.name, CARDS, MODEL[case.expects]),
                       threshold)

    if case.outcome == "error":
        with pytest.raises(InputImageError) as info:
            run_case()
        message = str(info.value)
        assert message.startswith(f"{path.name}: ") and message.count(path.name) == 1
        assert case.fragment in message
        return
    result = run_case()
    total = sum(row["ml"] for row in result.stats)
    if case.outcome == "result":
        assert result.warnings == [], result.warnings
        if case.fragment:
            assert any(case.fragment in notice for notice in result.notices), result.notices
    else:
        assert len(result.warnings) == 1 and case.fragment in result.warnings[0], result.warnings
    assert result.to_dict()["warnings"] == result.warnings
    if case.truth_ml is not None:
        assert total == pytest.approx(case.truth_ml, rel=0.05), (total, case.truth_ml)


class FakeRunner:
    """Stands in for meshseg.inference.OnnxRunner: the threshold model, no ONNX."""

    def __init__(self, models, cards, threads=None):
        self.threads = threads or 1

    def __call__(self, model_id, tensor):
        return threshold(model_id, tensor)


@pytest.mark.parametrize("index", INDICES)
def test_cli_outcome(corpus, index, tmp_path, capsys, monkeypatch):
    folder, cases = corpus
    case = cases[index]
    file = case.file
    monkeypatch.setattr(cli, "_cards", lambda args: CARDS)
    monkeypatch.setattr("meshseg.inference.OnnxRunner", FakeRunner)
    out, stats = tmp_path / "labels.nii.gz", tmp_path / "stats.json"
    status = cli.main(["segment", str(folder / file), "-m", MODEL[case.expects], "-o", str(out),
                       "--stats", str(stats), "--strict"])
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    others = [line for line in lines if not PROGRESS.match(line)]
    assert captured.out == ""
    assert status == {"result": 0, "warning": 3, "error": 2}[case.outcome], captured.err
    if case.outcome == "result":
        assert others == [], others
        assert out.exists() and "labelled volume" in lines[-1]
    elif case.outcome == "warning":
        # the plausibility warning; an implausible volume also flags the quality
        # (docs/quality.md), labels at the edge do not
        flags = 0 if "touch the edge" in case.fragment else 1
        assert len(others) == 1 + flags and all(o.startswith(f"WARNING: {folder / file}: ")
                                                for o in others), others
        assert case.fragment in others[0]
        if flags:
            assert "quality 0.50 is below 0.80" in others[1] and "human brain" in others[1]
        assert out.exists()  # --strict still writes the output
    else:
        name = file.rsplit("/", 1)[-1]
        assert len(others) == 1 and others[0].startswith(f"meshseg: error: {name}: ")
        assert case.fragment in others[0] and others[0].count(name) == 1
        assert not out.exists()
    if case.truth_ml is not None:
        mask = nib.load(out)
        ml = np.count_nonzero(np.asanyarray(mask.dataobj)) * np.prod(mask.header.get_zooms()[:3])
        assert ml / 1000 == pytest.approx(case.truth_ml, rel=0.05)


def test_short_file_claiming_a_huge_volume_allocates_nothing_big(corpus):
    folder, _ = corpus
    content = (folder / "claims_512x512x256.nii.gz").read_bytes()
    assert len(content) < 100
    tracemalloc.start()
    try:
        with pytest.raises(InputImageError, match="is truncated"):
            load_scan(content, "claims_512x512x256.nii.gz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def test_empty_result_warns_unless_the_model_finds_lesions():
    card = CARDS["fake_t1"]
    empty = np.zeros((40, 40, 40), np.uint8)
    assert result_warnings(empty, np.eye(4), card) == [
        "The result is empty (0 mL): fake fake_t1 labelled nothing. Check that the scan is "
        f"what fake_t1 expects ({T1}): right modality? whole head? right model?"]
    lesion = ModelCard.from_dict({**card.to_dict(), "task": "stroke lesion"})
    assert result_warnings(empty, np.eye(4), lesion) == []


def test_cli_crash_is_one_line_and_non_zero(tmp_path, capsys, monkeypatch):
    def explode(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(cli, "_cards", lambda args: CARDS)
    monkeypatch.setattr("meshseg.inference.OnnxRunner", explode)
    status = cli.main(["segment", str(tmp_path / "x.nii"), "-m", "fake_t1", "-o",
                       str(tmp_path / "y.nii.gz")])
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1 and err.startswith("meshseg: internal error:")

    def fails(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr("meshseg.inference.OnnxRunner", fails)
    status = cli.main(["segment", str(tmp_path / "x.nii"), "-m", "fake_t1", "-o",
                       str(tmp_path / "y.nii.gz")])
    err = capsys.readouterr().err
    assert status == 1 and err == "meshseg: internal error: RuntimeError: boom second line " \
                                  "(please report this).\n"


# --- the real network (model5_gw_ae) where its behaviour matters ------------------------


def _t1(data_dir):
    img = nib.load(data_dir / "t1_crop.nii.gz")
    return np.asanyarray(img.dataobj), img.affine


def test_real_negative_intensity_mri_is_segmented_like_the_original(data_dir, models_dir,
                                                                    tmp_path, capsys):
    """t1_crop cut to 216 mm and stored with an offset (background -1024): before the padding
    fix the frame outside the input became 207/255 and the brain mask came back empty."""
    data, affine = _t1(data_dir)
    sub = data[20:236, 20:236, 20:236].astype(np.int16) - 1024
    shifted = affine.copy()
    shifted[:3, 3] = affine[:3, :3] @ (20, 20, 20) + affine[:3, 3]
    path = tmp_path / "t1_negative.nii.gz"
    nib.save(nib.Nifti1Image(sub, shifted), path)
    out = tmp_path / "mask.nii.gz"
    status = cli.main(["segment", str(path), "-m", "model5_gw_ae", "-o", str(out),
                       "--models", str(models_dir), "--strict", "--threads", "2"])
    err = capsys.readouterr().err
    assert status == 0, err
    assert all(PROGRESS.match(line) for line in err.splitlines()), err
    brain_ml = np.count_nonzero(np.asanyarray(nib.load(out).dataobj)) / 1000  # 1 mm voxels
    assert 1000 <= brain_ml <= 1800, brain_ml


def test_real_500mm_field_of_view_with_the_head_off_centre_warns(data_dir, models_dir):
    """t1_crop at 2 mm inside a 500 mm field of view, the head 100 mm above its centre:
    the model's 256 mm grid cuts the brain, and the result says so."""
    from meshseg.inference import OnnxRunner
    from meshseg.models.index import read_index

    data, affine = _t1(data_dir)
    small = data.reshape(128, 2, 128, 2, 128, 2).mean(axis=(1, 3, 5)).astype(np.float32)
    big = np.zeros((250, 250, 250), np.float32)
    big[61:189, 61:189, 11:139] = small  # LIA: axis 3 runs to anterior -> head moved 100 mm
    wide = affine.copy()
    wide[:3, :3] *= 2
    wide[:3, 3] = affine[:3, 3] - wide[:3, :3] @ (61, 61, 11) + affine[:3, :3] @ (0.5, 0.5, 0.5)
    cards = {card.id: card for card in read_index(models_dir / "index.json")}
    runner = OnnxRunner(models_dir, cards, threads=2)
    job = open_job(nib.Nifti1Image(big, wide).to_bytes(), "fov500.nii", cards, "model5_gw_ae")
    result = run_job(job, runner)
    assert any("more than the model's 256 mm grid" in n for n in result.notices), result.notices
    assert len(result.warnings) == 1, result.warnings
    assert "touch the edge of the model's grid" in result.warnings[0]
    edge = result.labels.shape  # the native grid is 500 mm: the cut is inside it
    assert np.count_nonzero(result.labels[:, :, 0]) == 0 and edge == (250, 250, 250)
