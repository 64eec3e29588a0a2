"""The parsed network: a chain of 3D convolutions (no onnx needed).

Every MeshNet here is a plain chain: dilated ``same``-padded 3D convolution,
optional instance normalisation, activation. Kernels are stored in ONNX/torch
layout ``[out, in, kd, kh, kw]`` with the spatial axes in the order of the model
tensor (nibabel index order i, j, k).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meshseg.errors import ModelError

ACTIVATIONS = ("linear", "relu", "elu", "gelu")


@dataclass(frozen=True)
class ConvLayer:
    """One convolution layer of a MeshNet.

    Attributes
    ----------
    name : str
        Layer name in the source file.
    weight : ndarray, float32, shape (out, in, k, k, k)
        Cross-correlation kernel in nibabel axis order.
    bias : ndarray, float32, shape (out,)
        Zero where the source layer has no bias.
    dilation : int
        Isotropic dilation; padding is ``dilation * (k // 2)`` ('same').
    instance_norm : bool
        Per-channel normalisation over the whole volume (eps 1e-5, no affine)
        after the convolution, before the activation.
    activation : str
        One of ``linear``, ``relu``, ``elu`` (alpha 1), ``gelu`` (exact erf form).
    """

    name: str
    weight: np.ndarray
    bias: np.ndarray
    dilation: int
    instance_norm: bool
    activation: str

    def __post_init__(self) -> None:
        out_ch, _, kd, kh, kw = self.weight.shape
        if not kd == kh == kw or kd % 2 != 1:
            raise ModelError(f"layer {self.name}: kernel {self.weight.shape[2:]} is not an "
                             "odd cube; only 'same' cubic kernels are supported.")
        if self.bias.shape != (out_ch,):
            raise ModelError(f"layer {self.name}: bias shape {self.bias.shape} does not "
                             f"match {out_ch} output channels.")
        if self.activation not in ACTIVATIONS:
            raise ModelError(f"layer {self.name}: unknown activation {self.activation!r}.")

    @property
    def kernel_size(self) -> int:
        """Kernel edge length."""
        return self.weight.shape[2]

    @property
    def padding(self) -> int:
        """Zero padding on each side that keeps the size ('same')."""
        return self.dilation * (self.kernel_size // 2)


def check_chain(layers: list[ConvLayer], source: str) -> None:
    """Raise ModelError unless each layer's input channels match the previous output."""
    channels = 1
    for layer in layers:
        if layer.weight.shape[1] != channels:
            raise ModelError(f"{source}: layer {layer.name} expects {layer.weight.shape[1]} "
                             f"input channels but receives {channels}.")
        channels = layer.weight.shape[0]


def count_macs_per_voxel(layers: list[ConvLayer]) -> int:
    """Multiply-accumulates per output voxel of the whole chain."""
    return int(sum(layer.weight.size for layer in layers))
