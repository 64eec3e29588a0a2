"""Build the ONNX graph of a MeshNet layer list (opset 17, float32).

Input ``input`` float32 ``[1, 1, D, H, W]`` (symbolic D, H, W so cropped volumes
work). Variants: ``logits`` (float32 ``[1, C, D, H, W]``) and ``labels`` (uint8
``[1, D, H, W]``, the arg-max over classes; for more than
``ARGMAX_CHUNK`` classes the last convolution runs in chunks of output channels
merged by a running max / arg-max, so the full class-score volume never exists).
Instance normalisation is built from staged ReduceMean (W, then H, then D): a
single float32 reduction over 256^3 voxels loses enough accuracy to flip labels.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from meshseg.convert.layers import ConvLayer
from meshseg.errors import ModelError

OPSET = 17
ARGMAX_CHUNK = 8
NORM_EPS = 1e-5
VARIANTS = ("logits", "labels")


class _Graph:
    """Accumulates nodes and initializers with deterministic names."""

    def __init__(self) -> None:
        self.nodes: list = []
        self.initializers: list = []
        self._count = 0

    def name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, stem: str, array: np.ndarray) -> str:
        name = self.name(stem)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], stem: str, **attrs) -> str:
        out = self.name(stem)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out


def _conv(g: _Graph, x: str, weight: np.ndarray, bias: np.ndarray, layer: ConvLayer) -> str:
    k, d, p = layer.kernel_size, layer.dilation, layer.padding
    return g.op("Conv", [x, g.const("w", weight), g.const("b", bias)], "conv",
                kernel_shape=[k, k, k], dilations=[d, d, d], pads=[p] * 6, strides=[1, 1, 1])


def _staged_mean(g: _Graph, x: str) -> str:
    for axis in (4, 3, 2):
        x = g.op("ReduceMean", [x], "mean", axes=[axis], keepdims=1)
    return x


def _instance_norm(g: _Graph, x: str) -> str:
    centred = g.op("Sub", [x, _staged_mean(g, x)], "centred")
    var = _staged_mean(g, g.op("Mul", [centred, centred], "sq"))
    eps = g.const("eps", np.array(NORM_EPS, np.float32))
    std = g.op("Sqrt", [g.op("Add", [var, eps], "var_eps")], "std")
    return g.op("Div", [centred, std], "norm")


def _activation(g: _Graph, x: str, kind: str) -> str:
    if kind == "linear":
        return x
    if kind == "relu":
        return g.op("Relu", [x], "relu")
    if kind == "elu":
        return g.op("Elu", [x], "elu", alpha=1.0)
    # exact GELU: 0.5 * x * (1 + erf(x / sqrt(2)))
    scaled = g.op("Mul", [x, g.const("inv_sqrt2", np.array(1 / math.sqrt(2), np.float32))],
                  "gelu_in")
    one = g.const("one", np.array(1.0, np.float32))
    gate = g.op("Add", [g.op("Erf", [scaled], "erf"), one], "gelu_gate")
    half = g.const("half", np.array(0.5, np.float32))
    return g.op("Mul", [g.op("Mul", [x, gate], "gelu_x"), half], "gelu")


def _layer(g: _Graph, x: str, layer: ConvLayer) -> str:
    x = _conv(g, x, layer.weight, layer.bias, layer)
    if layer.instance_norm:
        x = _instance_norm(g, x)
    return _activation(g, x, layer.activation)


def _labels_head(g: _Graph, x: str, layer: ConvLayer, probability: str | None = None):
    """Arg-max over the last layer's classes, in chunks of ARGMAX_CHUNK channels.

    With `probability`, also a float32 ``[1, D, H, W]`` output computed from the same
    chunks: ``foreground`` (two classes: softmax of class 1 = sigmoid(s1 - s0)) or
    ``confidence`` (the largest softmax = 1 / sum_c exp(s_c - max), summed with an
    online running max chunk by chunk), so no tensor holds all C class scores.
    Returns (labels, probability or None).
    """
    n_classes = layer.weight.shape[0]
    confidence = probability == "confidence"
    best_val = best_idx = total = None
    prob = None
    for start in range(0, n_classes, ARGMAX_CHUNK):
        stop = start + ARGMAX_CHUNK
        scores = _activation(g, _conv(g, x, layer.weight[start:stop], layer.bias[start:stop],
                                      layer), layer.activation)
        if probability == "foreground":
            prob = _foreground(g, scores)
        idx = g.op("ArgMax", [scores], "argmax", axis=1, keepdims=1, select_last_index=0)
        if best_val is None:
            best_idx = idx
            if n_classes > ARGMAX_CHUNK or confidence:
                best_val = g.op("ReduceMax", [scores], "max", axes=[1], keepdims=1)
            if confidence:
                total = _exp_sum(g, scores, best_val)
            continue
        val = g.op("ReduceMax", [scores], "max", axes=[1], keepdims=1)
        idx = g.op("Add", [idx, g.const("offset", np.array(start, np.int64))], "index")
        better = g.op("Greater", [val, best_val], "better")
        best_idx = g.op("Where", [better, idx, best_idx], "best_idx")
        previous = best_val
        best_val = g.op("Where", [better, val, best_val], "best_val")
        if confidence:  # rescale the running sum to the new maximum, add this chunk
            shift = g.op("Exp", [g.op("Sub", [previous, best_val], "shift")], "rescale")
            total = g.op("Add", [g.op("Mul", [total, shift], "sum_scaled"),
                                 _exp_sum(g, scores, best_val)], "exp_sum")
    labels = g.op("Cast", [best_idx], "labels_u8", to=TensorProto.UINT8)
    axis1 = g.const("axis1", np.array([1], np.int64))
    labels = g.op("Squeeze", [labels, axis1], "labels_sq")
    if confidence:
        one = g.const("one", np.array(1.0, np.float32))
        prob = g.op("Div", [one, total], "confidence")
    if prob is not None:
        prob = g.op("Squeeze", [prob, axis1], "probability_sq")
    return labels, prob


def _exp_sum(g: _Graph, scores: str, maximum: str) -> str:
    """sum over the chunk's channels of exp(score - maximum): [1, 1, D, H, W]."""
    shifted = g.op("Exp", [g.op("Sub", [scores, maximum], "shifted")], "exp")
    return g.op("ReduceSum", [shifted, g.const("axes1", np.array([1], np.int64))], "chunk_sum",
                keepdims=1)


def _foreground(g: _Graph, scores: str) -> str:
    """softmax of class 1 of two: sigmoid(s1 - s0), [1, 1, D, H, W]."""
    def channel(c):
        return g.op("Slice", [scores, g.const("start", np.array([c], np.int64)),
                              g.const("stop", np.array([c + 1], np.int64)),
                              g.const("axis", np.array([1], np.int64))], f"class{c}")
    return g.op("Sigmoid", [g.op("Sub", [channel(1), channel(0)], "margin")], "foreground")


def build_model(layers: list[ConvLayer], variant: str = "labels",
                name: str = "meshnet", probability: str | None = None) -> onnx.ModelProto:
    """The ONNX model of a layer chain.

    Parameters
    ----------
    layers : list of ConvLayer
        Parsed network (kernels in nibabel axis order).
    variant : {"labels", "logits"}
        Output uint8 labels ``[1, D, H, W]`` or float32 scores ``[1, C, D, H, W]``.
    name : str
        Graph name (the model id).
    probability : {None, "foreground", "confidence"}
        With the labels variant, a second output ``probability`` (float32
        ``[1, D, H, W]``): the foreground softmax of a two-class model, or the
        per-voxel confidence (max softmax) of a many-class one, computed chunk by
        chunk beside the arg-max.
    """
    if variant not in VARIANTS:
        raise ModelError(f"unknown ONNX variant {variant!r}; use one of {VARIANTS}.")
    g = _Graph()
    x = "input"
    for layer in layers[:-1]:
        x = _layer(g, x, layer)
    prob = None
    if variant == "logits":
        x = _layer(g, x, layers[-1])
        out_type = helper.make_tensor_value_info(
            "logits", TensorProto.FLOAT, [1, layers[-1].weight.shape[0], "D", "H", "W"])
    else:
        if probability == "foreground" and layers[-1].weight.shape[0] != 2:
            raise ModelError(f"{name}: a foreground probability needs two classes.")
        x, prob = _labels_head(g, x, layers[-1], probability)
        out_type = helper.make_tensor_value_info("labels", TensorProto.UINT8,
                                                 [1, "D", "H", "W"])
    outputs = [out_type]
    g.nodes.append(helper.make_node("Identity", [x], [out_type.name], name="output"))
    if variant == "labels" and prob is not None:
        outputs.append(helper.make_tensor_value_info("probability", TensorProto.FLOAT,
                                                     [1, "D", "H", "W"]))
        g.nodes.append(helper.make_node("Identity", [prob], ["probability"],
                                        name="output_probability"))
    graph = helper.make_graph(
        g.nodes, name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, "D", "H", "W"])],
        outputs, g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="meshseg", producer_version="1")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def model_bytes(layers: list[ConvLayer], variant: str = "labels", name: str = "meshnet",
                probability: str | None = None) -> bytes:
    """Serialised ONNX model (deterministic for the same layers)."""
    return build_model(layers, variant, name, probability).SerializeToString()
