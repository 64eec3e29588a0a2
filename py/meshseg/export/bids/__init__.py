"""BIDS derivatives: a batch over a BIDS dataset's T1w images written as a BIDS-Derivatives
dataset (``meshseg batch BIDS_ROOT --bids --out DIR``; the page does the same for a
dropped BIDS folder).

- :mod:`meshseg.export.bids.layout`: find ``sub-*/[ses-*/]anat/*_T1w.nii[.gz]`` and read
  their entities; a folder that is not a BIDS dataset is a named error.
- :mod:`meshseg.export.bids.derivatives`: the derivative's names and files
  (dataset_description.json, dseg + tsv + json, volumes, probseg), written from the
  batch's outputs.
"""
