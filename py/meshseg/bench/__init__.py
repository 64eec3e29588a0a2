"""Benchmarks and validation tools (CPython only; left out of the browser wheel).

- :mod:`meshseg.bench.native`: per-stage times and peak memory of the CLI pipeline, and
  native onnxruntime against the page (``python -m meshseg.bench``).
- :mod:`meshseg.bench.ops`: per-operator and per-layer profile of a model's native run
  (``python -m meshseg.bench.ops``).
- :mod:`meshseg.bench.webgpu`: WebGPU against WASM in the page on a GPU, and the provider
  table that ``provider=auto`` uses (``python -m meshseg.bench.webgpu``).
- :mod:`meshseg.bench.degrade`: seeded image degradations (noise, bias, thick slices,
  ghosting, ...) for quality-control validation.
"""
