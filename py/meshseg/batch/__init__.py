"""Batch segmentation: many inputs in, one folder (or ZIP) of results out.

- :mod:`meshseg.batch.inputs`: files, folders (recursive), ZIP archives and DICOM
  series expanded into named items, each with the sha256 of its input.
- :mod:`meshseg.batch.item`: :func:`segment_item`, the one function that processes
  an item (on the CLI process or on a Dask worker) and returns a summary.
- :mod:`meshseg.batch.outputs`: manifest.json, volumes.csv, the ZIP archive.
- :mod:`meshseg.batch.runner`: serial and Dask execution, resume, progress.
- :mod:`meshseg.batch.cli`: the ``meshseg batch`` subcommand.
"""
