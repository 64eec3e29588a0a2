"""Float64 numpy MeshNet: the reference the ONNX models are tested against.

Slow and memory-hungry (channels x volume float64), meant for small volumes in
tests and parity checks. ``layers`` are objects with ``weight`` (out, in, k, k, k),
``bias``, ``dilation``, ``instance_norm`` and ``activation``, as produced by
``meshseg.convert.tfjs`` / ``meshseg.convert.torch_zip``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erf

NORM_EPS = 1e-5


def dilated_conv3d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray,
                   dilation: int) -> np.ndarray:
    """'Same' zero-padded dilated 3D cross-correlation.

    Parameters
    ----------
    x : ndarray, shape (C_in, D, H, W)
    weight : ndarray, shape (C_out, C_in, k, k, k), k odd
    bias : ndarray, shape (C_out,)
    dilation : int

    Returns
    -------
    ndarray, float64, shape (C_out, D, H, W)
    """
    k = weight.shape[2]
    half = k // 2
    shape = x.shape[1:]
    out = np.empty((weight.shape[0], *shape))
    out[:] = np.asarray(bias, np.float64)[:, None, None, None]
    weight = np.asarray(weight, np.float64)
    for offset in np.ndindex(k, k, k):
        shifts = [(o - half) * dilation for o in offset]
        if any(abs(s) >= n for s, n in zip(shifts, shape, strict=True)):
            continue  # the kernel tap only ever sees zero padding
        src = tuple(slice(max(s, 0), n + min(s, 0)) for s, n in zip(shifts, shape, strict=True))
        dst = tuple(slice(max(-s, 0), n - max(s, 0)) for s, n in zip(shifts, shape, strict=True))
        tap = weight[(slice(None), slice(None), *offset)]
        out[(slice(None), *dst)] += np.tensordot(tap, x[(slice(None), *src)], axes=(1, 0))
    return out


def instance_norm(x: np.ndarray, eps: float = NORM_EPS) -> np.ndarray:
    """Per-channel (x - mean) / sqrt(var + eps) over the spatial axes, float64."""
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    var = ((x - mean) ** 2).mean(axis=(1, 2, 3), keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def activate(x: np.ndarray, kind: str) -> np.ndarray:
    """Apply ``linear``, ``relu``, ``elu`` (alpha 1) or exact ``gelu``."""
    if kind == "linear":
        return x
    if kind == "relu":
        return np.maximum(x, 0.0)
    if kind == "elu":
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))
    if kind == "gelu":
        return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))
    raise ValueError(f"unknown activation {kind!r}")


def meshnet_forward(layers, volume: np.ndarray) -> np.ndarray:
    """Class scores of a MeshNet for one volume.

    Parameters
    ----------
    layers : sequence of ConvLayer-like
        The parsed network, kernels in the volume's axis order.
    volume : ndarray, shape (D, H, W)
        Normalised input volume.

    Returns
    -------
    ndarray, float64, shape (C, D, H, W)
        Logits (argmax over axis 0 gives the labels).
    """
    x = np.asarray(volume, np.float64)[None]
    for layer in layers:
        x = dilated_conv3d(x, layer.weight, layer.bias, layer.dilation)
        if layer.instance_norm:
            x = instance_norm(x)
        x = activate(x, layer.activation)
    return x
