"""Intensity scaling (uint8, min-max, quantile) and bounding-box crop / paste."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from meshseg.crop import bounding_box, crop, paste
from meshseg.intensity import normalise, scale_to_uint8
from synthetic import random_image


def _volume(seed=0):
    data = np.asarray(random_image((24, 20, 16), seed=seed).dataobj) - 100.0
    data[:4] = 0.0
    return data.astype(np.float32)


def test_scale_to_uint8_matches_the_formula():
    data = _volume()
    out = scale_to_uint8(data)
    low = float(data.min())
    high = float(np.percentile(data[data != 0], 99.9))
    expected = np.rint(np.clip((data.astype(np.float64) - low) * 255 / (high - low), 0, 255))
    assert out.dtype == np.uint8
    assert np.abs(out.astype(int) - expected).max() <= 1
    assert np.mean(out == expected) > 0.999
    assert out[data == data.min()].max() == 0
    assert np.all(out[data >= high] == 255)


def test_scale_to_uint8_ignores_zeros_for_the_percentile():
    data = np.zeros((10, 10, 10), np.int16)
    data[0, 0, :] = np.arange(1, 11) * 10
    out = scale_to_uint8(data, percentile=50)
    # median of 10..100 is 55: 55 -> 255, 30 -> rint(30 * 255 / 55) = 139
    assert out[0, 0, 2] == 139 and out[0, 0, 5] == 255 and out[5, 5, 5] == 0


@pytest.mark.parametrize("data, message", [(np.zeros((4, 4, 4)), "all zeros"),
                                           (np.full((4, 4, 4), 7.0), "no contrast")])
def test_scale_to_uint8_rejects_images_without_contrast(data, message):
    with pytest.raises(ValueError, match=message):
        scale_to_uint8(data)


def test_normalise_minmax():
    data = _volume(1)
    out = normalise(data, "minmax")
    assert out.dtype == np.float32
    assert out.min() == 0.0 and out.max() == pytest.approx(1.0, abs=1e-6)
    expected = (data - data.min()) / (data.max() - data.min())
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_normalise_quantile_is_not_clipped():
    data = scale_to_uint8(_volume(2))
    out = normalise(data, "quantile")
    q05, q95 = np.quantile(data, (0.05, 0.95))
    np.testing.assert_allclose(out, (data - q05) / (q95 - q05), rtol=1e-6, atol=1e-6)
    assert out.max() > 1.0 and out.dtype == np.float32


def test_normalise_zscore_none_and_quantile_parameters():
    data = np.arange(100.0)
    z = normalise(data, "zscore")
    assert abs(float(z.mean())) < 1e-5 and abs(float(z.std()) - 1) < 1e-5
    assert np.array_equal(normalise(data, "none"), data.astype(np.float32))
    out = normalise(data, "quantile", {"low": 0.1, "high": 0.9})
    q10, q90 = np.quantile(data, (0.1, 0.9))
    np.testing.assert_allclose(out, (data - q10) / (q90 - q10), rtol=1e-6, atol=1e-6)


def test_normalise_errors():
    with pytest.raises(ValueError, match="minmax, quantile"):
        normalise(np.arange(8.0), "zscale")
    with pytest.raises(ValueError, match="no contrast"):
        normalise(np.ones(8), "minmax")


def test_intensity_steps_avoid_float64_copies():
    data = np.random.default_rng(0).integers(1, 255, (64, 64, 64)).astype(np.uint8)
    float32_bytes = data.size * 4
    for step in (scale_to_uint8, lambda d: normalise(d, "minmax"),
                 lambda d: normalise(d, "quantile")):
        tracemalloc.start()
        step(data)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 1.6 * float32_bytes


def test_bounding_box_pad_and_clip():
    mask = np.zeros((10, 12, 14), bool)
    mask[2:5, 0:3, 7:14] = True
    assert bounding_box(mask) == (slice(2, 5), slice(0, 3), slice(7, 14))
    assert bounding_box(mask, pad=3) == (slice(0, 8), slice(0, 6), slice(4, 14))
    with pytest.raises(ValueError, match="empty"):
        bounding_box(np.zeros((3, 3, 3)))


def test_crop_paste_round_trip():
    rng = np.random.default_rng(3)
    data = rng.integers(0, 9, (10, 12, 14)).astype(np.uint8)
    mask = np.zeros(data.shape, bool)
    mask[3:6, 2:9, 5:8] = True
    box = bounding_box(mask, pad=1)
    assert box == (slice(2, 7), slice(1, 10), slice(4, 9))
    sub = crop(data, box)
    assert sub.flags.c_contiguous and sub.shape == data[box].shape
    back = paste(sub, box, data.shape, fill=0)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back[box], data[box])
    outside = np.ones(data.shape, bool)
    outside[box] = False
    assert not back[outside].any()
    labels = paste(sub.astype(np.int16), box, data.shape, fill=-1)
    assert labels.dtype == np.int16 and labels[outside].min() == -1
    with pytest.raises(ValueError, match="does not fit"):
        paste(sub[:-1], box, data.shape)
