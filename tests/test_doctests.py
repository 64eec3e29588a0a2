"""The docstring examples of the core modules run (numpydoc Examples sections)."""

import doctest
import importlib

import pytest

MODULES = ["meshseg.options", "meshseg.errors", "meshseg.constants", "meshseg.crop",
           "meshseg.compare", "meshseg.pipeline", "meshseg.service", "meshseg.session",
           "meshseg.driver", "meshseg.stats", "meshseg.tiling", "meshseg.bench.webgpu",
           "meshseg.bench.ops", "meshseg.bench.degrade", "meshseg.conform", "meshseg.security.csp",
           "meshseg.export.bids.layout", "meshseg.export.bids.derivatives"]
MODULES += ["meshseg.export.freesurfer_stats", "meshseg.export.freesurfer_lut", "meshseg.batch.item"]  # noqa: E501 - stats
MODULES += [f"meshseg.export.report{m}" for m in ("", ".png", ".slices", ".view3d", ".html")]
QUALITY = [f"meshseg.quality.{m}" for m in ("metrics", "tissues", "contrast", "dropout",
                                             "confidence", "mirror", "tta", "reference", "score",
                                             "reasons")]
MODULES += QUALITY + ["meshseg.plausibility", "meshseg.batch.outputs", "meshseg.cli"]
MODULES += [f"meshseg.export.mesh.{m}" for m in ("checks", "formats", "smooth")]  # mesh
MODULES += ["meshseg.export.dicom_seg"]  # dicomseg
MODULES += [f"meshseg.export.{m}" for m in ("provenance", "files", "registry")]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    failures, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failures == 0
    if name in {"meshseg.options", "meshseg.compare", "meshseg.crop", "meshseg.constants",
                "meshseg.bench.webgpu", "meshseg.bench.ops", "meshseg.bench.degrade",
                "meshseg.security.csp", *QUALITY}:
        assert tried > 0, f"{name} has no runnable examples"
