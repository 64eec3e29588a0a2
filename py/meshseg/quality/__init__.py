"""How far to trust a result: image-quality metrics, a contrast check, a quality score.

- :mod:`~meshseg.quality.metrics`: MRIQC's SNR, CNR, CJV, EFC, FBER (pure numpy).
- :mod:`~meshseg.quality.tissues`: the regions they are measured in (tissues by class
  name, head, air, field of view) on a sampled model grid.
- :mod:`~meshseg.quality.contrast`: is the scan's contrast the one the card expects?
- :mod:`~meshseg.quality.confidence`: the model's own uncertainty, overall and per label.
- :mod:`~meshseg.quality.mirror`, :mod:`~meshseg.quality.tta`: test-time augmentation
  (the left-right mirror, lateral labels swapped by name) and its agreement.
- :mod:`~meshseg.quality.reference`: each bundled model's clean-scan baseline.
- :mod:`~meshseg.quality.score`, :mod:`~meshseg.quality.reasons`: the score, the flag
  and their reasons in plain words.
- :mod:`~meshseg.quality.assess`: all of it for one result (the public ``quality``
  object, docs/quality.md).
"""

from meshseg.quality.assess import Evidence, assess

__all__ = ["Evidence", "assess"]
