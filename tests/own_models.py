"""Small third-party ONNX models built with onnx.helper, and their version 2 cards."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

GRID = 32  # a 32^3 grid at 4 mm: fast everywhere


def card(model_id: str, outputs: list, classes: bool = True, file: str = "model.onnx",
         grid: int = GRID, normalisation: str = "minmax") -> dict:
    """A minimal version 2 card (runtime only, plus a title)."""
    data = {
        "card_version": 2, "id": model_id, "title": f"Test model {model_id}",
        "runtime": {
            "onnx": {"file": file, "input": "scan"},
            "input": {"shape": [grid] * 3, "voxel_size": [4.0] * 3, "orientation": "RAS"},
            "normalisation": {"method": normalisation},
            "outputs": outputs,
        },
    }
    if classes:
        data["classes"] = [{"index": 0, "name": "background", "color": [0, 0, 0]},
                           {"index": 1, "name": "bright", "color": [255, 200, 0]}]
    return data


def labels_model(opset: int = 17, dims: list | None = None, op: str = "Sigmoid",
                 domain: str = "") -> bytes:
    """Two-class 'segmentation': p = sigmoid(20 (x - 0.4)); labels = p >= 0.5 (uint8);
    outputs ``seg`` [1, 1, D, H, W] uint8 and ``prob`` [1, 1, D, H, W] float32."""
    from onnx import TensorProto, helper, numpy_helper

    dims = dims or [1, 1, "D", "H", "W"]
    consts = [numpy_helper.from_array(np.array(20, np.float32), "gain"),
              numpy_helper.from_array(np.array(0.4, np.float32), "shift"),
              numpy_helper.from_array(np.array(0.5, np.float32), "half")]
    nodes = [helper.make_node("Sub", ["scan", "shift"], ["centred"]),
             helper.make_node("Mul", ["centred", "gain"], ["logit"]),
             helper.make_node(op, ["logit"], ["prob"], domain=domain),
             helper.make_node("GreaterOrEqual", ["prob", "half"], ["mask"]),
             helper.make_node("Cast", ["mask"], ["seg"], to=TensorProto.UINT8)]
    graph = helper.make_graph(
        nodes, "byo_labels", [helper.make_tensor_value_info("scan", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("seg", TensorProto.UINT8, dims),
         helper.make_tensor_value_info("prob", TensorProto.FLOAT, dims)], consts)
    imports = [helper.make_opsetid("", opset)]
    if domain:
        imports.append(helper.make_opsetid(domain, 1))
    model = helper.make_model(graph, opset_imports=imports, producer_name="third-party")
    model.ir_version = 8
    return model.SerializeToString()


def image_model() -> bytes:
    """Image-to-image: a 3x3x3 mean filter (denoising), output ``clean`` [1, 1, D, H, W]."""
    from onnx import TensorProto, helper, numpy_helper

    dims = [1, 1, "D", "H", "W"]
    weight = numpy_helper.from_array(np.full((1, 1, 3, 3, 3), 1 / 27, np.float32), "w")
    nodes = [helper.make_node("Conv", ["scan", "w"], ["clean"], kernel_shape=[3, 3, 3],
                              pads=[1] * 6)]
    graph = helper.make_graph(
        nodes, "byo_image", [helper.make_tensor_value_info("scan", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("clean", TensorProto.FLOAT, dims)], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


LABELS_OUTPUTS = [{"name": "seg", "kind": "labels"},
                  {"name": "prob", "kind": "probability", "meaning": "foreground"}]
IMAGE_OUTPUTS = [{"name": "clean", "kind": "image"}]


def write_models(folder: Path) -> dict[str, tuple[Path, Path]]:
    """Both test models and their cards in `folder`: {kind: (onnx, card)}."""
    folder.mkdir(parents=True, exist_ok=True)
    found = {}
    for kind, data, outputs, classes in (("labels", labels_model(), LABELS_OUTPUTS, True),
                                         ("image", image_model(), IMAGE_OUTPUTS, False)):
        onnx_path, card_path = folder / f"byo_{kind}.onnx", folder / f"byo_{kind}.json"
        onnx_path.write_bytes(data)
        card_path.write_text(json.dumps(card(f"byo_{kind}", outputs, classes,
                                             file=onnx_path.name), indent=2))
        found[kind] = (onnx_path, card_path)
    return found
