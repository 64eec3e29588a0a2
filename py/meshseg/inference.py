"""Native inference with onnxruntime (the CLI's driver; optional extra ``cli``)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from meshseg.errors import ModelError
from meshseg.models.card import ModelCard

OPTIMISATION_LEVELS = ("disable", "basic", "extended", "all")


def session_options(threads: int, optimisation: str):
    """onnxruntime session options: `threads` intra-op threads (one inter-op) and a
    graph optimisation level (disable, basic, extended or all)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = {
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[optimisation]
    return options


class OnnxRunner:
    """Runs ONNX models with onnxruntime on the CPU, fetching the card's declared outputs.

    Parameters
    ----------
    models_dir : path
        Folder with ``<id>/model.onnx`` as written by ``meshseg convert``.
    cards : dict
        Model id -> ModelCard (for the ONNX file name and its sha256).
    threads : int, optional
        Intra-op threads (default: all cores).
    optimisation : str
        Graph optimisation level: disable, basic, extended or all.
    """

    def __init__(self, models_dir, cards: dict[str, ModelCard], threads: int | None = None,
                 optimisation: str = "all") -> None:
        if optimisation not in OPTIMISATION_LEVELS:
            raise ValueError(f"optimisation must be one of {OPTIMISATION_LEVELS}")
        self.models_dir = Path(models_dir)
        self.cards = cards
        self.threads = threads or os.cpu_count() or 1
        self.optimisation = optimisation
        self._sessions: dict = {}
        self._paths: dict = {}

    def info(self) -> dict:
        """What runs the models: provider, threads, optimisation, onnxruntime version."""
        import onnxruntime as ort

        return {"provider": "onnxruntime-cpu", "onnxruntime": ort.__version__,
                "threads": self.threads, "optimisation": self.optimisation}

    def session(self, model_id: str):
        """The (cached) inference session of a model."""
        if model_id not in self._sessions:
            self._sessions[model_id] = self._open(model_id)
        return self._sessions[model_id]

    def add_model(self, card: ModelCard, path) -> None:
        """A model outside the models folder (a user's own): its card and ONNX file."""
        self.cards = {**self.cards, card.id: card}
        self._paths[card.id] = Path(path)
        self._sessions.pop(card.id, None)

    def __call__(self, model_id: str, tensor: np.ndarray) -> dict[str, np.ndarray]:
        """The card's declared outputs of `tensor` (float32, [1, 1, D, H, W]) by kind:
        ``labels`` (uint8 [D, H, W]), ``probability`` / ``image`` (float32 [D, H, W])."""
        card = self.cards[model_id]
        session = self.session(model_id)
        names = [o["name"] for o in card.outputs]
        input_name = card.onnx.get("input") or session.get_inputs()[0].name
        values = session.run(names, {input_name: tensor})
        shape = tensor.shape[2:]
        return {o["kind"]: value.reshape(shape) for o, value in zip(card.outputs, values,
                                                                      strict=True)}

    def labels(self, model_id: str, tensor: np.ndarray) -> np.ndarray:
        """Labels only (uint8, [D, H, W])."""
        card = self.cards[model_id]
        session = self.session(model_id)
        name = card.output("labels")["name"]
        input_name = card.onnx.get("input") or session.get_inputs()[0].name
        (labels,) = session.run([name], {input_name: tensor})
        return labels.reshape(tensor.shape[2:])

    def _open(self, model_id: str):
        import onnxruntime as ort

        card = self.cards.get(model_id)
        if card is None:
            raise ModelError(f"unknown model {model_id!r}")
        path = self._paths.get(model_id) or self.models_dir / card.onnx.get(
            "file", f"{model_id}/model.onnx")
        if not path.is_file():
            raise ModelError(f"{path}: model file missing; run `python -m meshseg convert`.")
        return ort.InferenceSession(str(path), session_options(self.threads, self.optimisation),
                                    providers=["CPUExecutionProvider"])
