"""MeshSeg: brain-MRI segmentation with MeshNet, entirely on the user's machine.

The core package (this one) depends only on numpy, scipy and nibabel, so it runs
unchanged in CPython and in Pyodide. Inference lives outside it: native
onnxruntime in the CLI, onnxruntime-web in the browser.
"""

__version__ = "0.1.0"
