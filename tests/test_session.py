"""Scan sessions: loaded once, many runs, cached conform and pre-model box, released on close.

The network is the transparent thresholding rule of test_pipeline.py, so the
reuse can be checked exactly: a second run must give the labels a fresh run gives.
"""

import asyncio
import gzip
import time

import nibabel as nib
import numpy as np
import pytest

from meshseg.driver import drive, run
from meshseg.errors import CancelledError, OptionError
from meshseg.options import SegmentOptions
from meshseg.pipeline import open_job, run_job
from meshseg.session import ScanSession
from synthetic import affine_from, sphere_image
from test_pipeline import card, nifti_bytes, threshold


@pytest.fixture
def sphere_bytes():
    affine = affine_from((1.2, 1.0, 1.5), "RAS", rotation_deg=(5, 0, 10), origin=(-30, -30, -20))
    img = sphere_image(shape=(60, 70, 48), affine=affine, centre_mm=(0, 0, 5), radius_mm=15,
                       noise=2.0)
    return nifti_bytes(img)


def cards():
    return {"mask": card("mask"), "a": card("a", pre_model="mask", padding=3),
            "b": card("b", pre_model="mask", padding=6)}


def stages_of(job, infer=threshold):
    seen = []
    result = run(job, infer, seen.append)
    return [event.stage for event in seen], result


def test_second_run_skips_load_conform_and_premodel_and_matches_a_fresh_run(sphere_bytes):
    session = ScanSession.open(sphere_bytes, "s.nii.gz")
    first_stages, first = stages_of(session.job(cards(), "a"))
    second_stages, second = stages_of(session.job(cards(), "b"))
    assert "conform" in first_stages and "premodel" in first_stages
    assert "conform" not in second_stages and "premodel" not in second_stages
    assert first.reused == [] and "load" in first.timings
    assert second.reused == ["load", "conform", "premodel"]
    assert "load" not in second.timings and "conform" not in second.timings
    fresh = run_job(open_job(sphere_bytes, "s.nii.gz", cards(), "b"), threshold)
    assert np.array_equal(second.labels, fresh.labels)
    assert second.labels.sum() > 1000


def test_close_releases_the_arrays(sphere_bytes):
    session = ScanSession.open(sphere_bytes, "s.nii.gz")
    loaded = session.nbytes
    run(session.job(cards(), "a"), threshold)
    held = session.nbytes
    assert held == loaded + 96**3 * 4  # the conformed float32 volume is kept for later runs
    assert session.close() == held
    assert session.nbytes == 0 and session.closed
    with pytest.raises(ValueError, match="closed"):
        session.job(cards(), "a")


@pytest.mark.parametrize(("options", "option"), [
    ({"crop": "no"}, "crop"),
    ({"largest_component": 1}, "largest_component"),
    ({"tile_mb": -5}, "tile_mb"),
    ({"tile_mb": True}, "tile_mb"),
    ({"space": "mni"}, "space"),
    ({"resample": None}, "resample"),
    ({"colour": "red"}, "colour"),
])
def test_bad_options_name_the_option(options, option):
    with pytest.raises(OptionError) as caught:
        SegmentOptions.from_mapping(options)
    assert caught.value.option == option
    assert option in str(caught.value)


def test_options_defaults_and_round_trip():
    options = SegmentOptions.from_mapping({"space": "conformed", "tile_mb": None})
    assert options.space == "conformed" and options.crop is True and options.tile_mb is None
    assert SegmentOptions.from_mapping(options.to_dict()) == options


def test_stage_timers_count_python_work_and_the_driver_times_the_model(sphere_bytes):
    # The model sleeps 1 s; the fault caught is that second counted in another stage (a
    # Python stage on this small sphere taking a whole second would be a fault too).
    def slow(model_id, tensor):
        time.sleep(1.0)
        return threshold(model_id, tensor)

    result = run(open_job(sphere_bytes, "s.nii.gz", {"m": card("m")}, "m"), slow)
    assert result.timings["inference"] >= 1.0
    assert result.work[0]["seconds"] >= 1.0
    others = {k: v for k, v in result.timings.items() if k != "inference"}
    assert max(others.values()) < 1.0, others


def test_an_awaitable_answer_and_cancel_between_steps(sphere_bytes):
    async def later(model_id, tensor):
        await asyncio.sleep(0)
        return threshold(model_id, tensor)

    job = open_job(sphere_bytes, "s.nii.gz", {"m": card("m")}, "m")
    assert asyncio.run(drive(job, later)).labels.sum() > 1000

    seen = []
    job = open_job(sphere_bytes, "s.nii.gz", {"m": card("m")}, "m")
    with pytest.raises(CancelledError):
        run(job, later, seen.append, cancelled=lambda: len(seen) >= 2)
    assert [event.stage for event in seen] == ["conform", "normalise"]


def test_runs_after_a_cancel_still_work(sphere_bytes):
    session = ScanSession.open(sphere_bytes, "s.nii.gz")
    with pytest.raises(CancelledError):
        run(session.job(cards(), "a"), threshold, cancelled=lambda: True)
    result = run(session.job(cards(), "a"), threshold)
    mask = nib.Nifti1Image.from_bytes(gzip.decompress(result.mask_bytes))
    assert mask.shape == (60, 70, 48)
    assert result.stats[0]["voxels"] == int((mask.get_fdata() == 1).sum()) > 1000
