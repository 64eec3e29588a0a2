"""The BIDS derivative dataset of a batch: its file names and the contents of its small files.

For a T1w ``sub-01/ses-1/anat/sub-01_ses-1_acq-fast_T1w.nii.gz`` and the model
``model5_gw_ae`` the dataset holds::

    dataset_description.json   DatasetType "derivative", GeneratedBy meshseg <version>
    README.md, .bidsignore     (.bidsignore: the volume tables, not a BIDS file type)
    sub-01/ses-1/anat/sub-01_ses-1_acq-fast_space-orig_desc-model5gwae_dseg.nii.gz
                      ..._dseg.tsv (index, name, color), ..._dseg.json (Sources, model)
                      ..._volumes.tsv (index, name, voxels, ml), ..._volumes.json
                      ..._probseg.nii.gz + .json   (--probseg, models with a probability)
    sourcedata/meshseg-batch/  the batch folder: manifest.json, volumes.csv, per-scan files

The T1w's own entities are kept in the specification's order, ``space-orig`` (the labels
lie on the T1w's grid) and ``desc-<model id in letters and digits>`` are added. The page
writes the same files (``site/js/batch/bids.js``; the shared names are
:data:`meshseg.constants.BIDS`; ``tests/js/bids.test.mjs`` checks that both agree).

Examples
--------
>>> entities = (("sub", "01"), ("ses", "1"), ("run", "2"), ("acq", "fast"))
>>> derivative_name(entities, "dseg", ".nii.gz", desc=desc_label("model5_gw_ae"))
'sub-01_ses-1_acq-fast_run-2_space-orig_desc-model5gwae_dseg.nii.gz'
>>> derivative_name((("sub", "01"), ("chunk", "1")), "probseg", ".nii.gz", desc="mindgrab",
...                 label="brainmask")
'sub-01_space-orig_chunk-1_label-brainmask_desc-mindgrab_probseg.nii.gz'
>>> derivative_paths(entities, "model5_gw_ae")["volumes"]
'sub-01/ses-1/anat/sub-01_ses-1_acq-fast_run-2_space-orig_desc-model5gwae_volumes.tsv'
>>> volumes_tsv_from_csv('label,name,voxels,ml\\n1,"a, b",10,0.01\\n').splitlines()
['index\\tname\\tvoxels\\tml', '1\\ta, b\\t10\\t0.01']
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import zipfile
from pathlib import Path

from meshseg import __version__
from meshseg.constants import BIDS
from meshseg.export.registry import ExportError

DESCRIPTION = "dataset_description.json"
README = "README.md"
BIDSIGNORE = ".bidsignore"
BATCH_DIR = BIDS["batch_dir"]
_ORDER = {key: index for index, key in enumerate(BIDS["entity_order"])}


def desc_label(model_id: str) -> str:
    """A model id as a BIDS label: its letters and digits (``model5_gw_ae`` -> ``model5gwae``)."""
    return re.sub(r"[^0-9A-Za-z]", "", model_id) or "meshseg"


def derivative_name(entities, suffix: str, extension: str, *, desc: str,
                    label: str | None = None) -> str:
    """The file name: `entities` plus space-orig [, label-] and desc-, in the spec's order."""
    pairs = [(k, v) for k, v in entities if k not in ("space", "label", "desc")]
    pairs += [("space", BIDS["space"]), ("desc", desc)] + ([("label", label)] if label else [])
    pairs.sort(key=lambda pair: _ORDER[pair[0]])
    return "_".join(f"{k}-{v}" for k, v in pairs) + f"_{suffix}{extension}"


def derivative_folder(entities) -> str:
    """``sub-<label>[/ses-<label>]/anat``."""
    found = dict(entities)
    return "/".join([f"sub-{found['sub']}"] + ([f"ses-{found['ses']}"] if "ses" in found else [])
                    + ["anat"])


def derivative_paths(entities, model_id: str, probseg_label: str | None = None) -> dict:
    """Every derivative file of one T1w, relative to the dataset root (``/``-separated).

    Keys: ``dseg``, ``dseg_tsv``, ``dseg_json``, ``volumes``, ``volumes_json``,
    ``probseg``, ``probseg_json`` (the last two named with `probseg_label` when given).
    """
    folder, desc = derivative_folder(entities), desc_label(model_id)

    def path(suffix, extension, label=None):
        return f"{folder}/{derivative_name(entities, suffix, extension, desc=desc, label=label)}"

    return {"dseg": path("dseg", ".nii.gz"), "dseg_tsv": path("dseg", ".tsv"),
            "dseg_json": path("dseg", ".json"), "volumes": path("volumes", ".tsv"),
            "volumes_json": path("volumes", ".json"),
            "probseg": path("probseg", ".nii.gz", probseg_label),
            "probseg_json": path("probseg", ".json", probseg_label)}


def source_uri(relpath: str) -> str:
    """The BIDS URI of a file of the source dataset (``DatasetLinks`` "raw")."""
    return f"bids:raw:{relpath}"


def probability_meaning(card) -> str | None:
    """``foreground``, ``confidence`` or None (a model without a probability output)."""
    output = card.output("probability")
    return output["meaning"] if output else None


def probseg_label(card) -> str | None:
    """``label-`` of the probseg: the foreground class's name for a two-class model's
    foreground probability, none for a confidence map (not one label's probability)."""
    if probability_meaning(card) != "foreground":
        return None
    name = next((c["name"] for c in card.classes if int(c["index"]) == 1), "foreground")
    return desc_label(str(name))


def raw_name(dataset_name: str, description: dict) -> str:
    """The source dataset's Name, else its folder's name."""
    name = description.get("Name") if isinstance(description, dict) else None
    return name.strip() if isinstance(name, str) and name.strip() else dataset_name


def dataset_description(dataset_name: str, description: dict, raw_link: str,
                        version: str = __version__) -> dict:
    """dataset_description.json of the derivative of the dataset `dataset_name`.

    Parameters
    ----------
    dataset_name : str
        The source dataset's folder name.
    description : dict
        The source dataset's dataset_description.json (its Name and DatasetDOI are used).
    raw_link : str
        Where the source dataset lies, from the derivative's root (``DatasetLinks`` "raw").
    version : str
        MeshSeg's version.

    Examples
    --------
    >>> doc = dataset_description("ds", {"Name": "Study"}, "../..", "0.1.0")
    >>> doc["DatasetType"], doc["GeneratedBy"][0]["Name"], doc["DatasetLinks"]
    ('derivative', 'meshseg', {'raw': '../..'})
    """
    source = {"URL": "bids:raw:"}
    doi = description.get("DatasetDOI") if isinstance(description, dict) else None
    if isinstance(doi, str) and doi:
        source = {"DOI": doi, **source}
    return {
        "Name": f"MeshSeg segmentations of {raw_name(dataset_name, description)}",
        "BIDSVersion": BIDS["version"],
        "DatasetType": "derivative",
        "GeneratedBy": [{
            "Name": BIDS["pipeline"], "Version": version,
            "Description": "Brain MRI segmentation with MeshNet models; each file's model is "
                           "its desc- entity and its sidecar's Model.",
        }],
        "SourceDatasets": [source],
        "DatasetLinks": {"raw": raw_link},
    }


def readme(dataset_name: str, description: dict, version: str = __version__) -> str:
    """README.md of the derivative (:data:`meshseg.constants.BIDS` ``readme``)."""
    return (BIDS["readme"].replace("@NAME@", raw_name(dataset_name, description))
            .replace("@VERSION@", version))


def bidsignore() -> str:
    """.bidsignore: the files of the derivative that are not a BIDS file type."""
    return "".join(f"{line}\n" for line in BIDS["bidsignore"])


def _cell(value) -> str:
    return re.sub(r"[\t\r\n]+", " ", str(value))


def _hex(color) -> str:
    if not isinstance(color, (list, tuple)) or len(color) < 3:
        return "n/a"
    return "#" + "".join(f"{max(0, min(255, int(c))):02x}" for c in color[:3])


def dseg_tsv(classes) -> str:
    """The dseg's lookup table: index, name, color (``#rrggbb``) of every class.

    >>> dseg_tsv([{"index": 0, "name": "background", "color": [0, 0, 0]},
    ...           {"index": 1, "name": "brain", "color": [255, 128, 0]}]).splitlines()
    ['index\\tname\\tcolor', '0\\tbackground\\t#000000', '1\\tbrain\\t#ff8000']
    """
    lines = ["index\tname\tcolor"]
    for cls in sorted(classes, key=lambda c: int(c["index"])):
        lines.append(f"{int(cls['index'])}\t{_cell(cls['name'])}\t{_hex(cls.get('color'))}")
    return "\n".join(lines) + "\n"


def model_facts(card) -> dict:
    """The model as a sidecar states it."""
    return {"id": card.id, "title": card.title or "", "licence": card.licence or "",
            "onnx_sha256": (card.onnx or {}).get("sha256", "")}


def dseg_sidecar(card, relpath: str) -> dict:
    """The dseg's JSON sidecar: what it is, its source T1w and the model."""
    title = f" ({card.title})" if card.title else ""
    return {
        "Description": f"MeshSeg segmentation of {os.path.basename(relpath)} by the model "
                       f"{card.id}{title}, on the T1w image's own voxel grid.",
        "Sources": [source_uri(relpath)],
        "SpatialReference": source_uri(relpath),
        "Manual": False,
        "Model": model_facts(card),
    }


def probseg_sidecar(card, relpath: str) -> dict:
    """The probseg's JSON sidecar: which probability it holds, its source and the model."""
    if probability_meaning(card) == "foreground":
        label = next((c["name"] for c in card.classes if int(c["index"]) == 1), "foreground")
        what = f"the probability (0 to 1) of {label} at each voxel"
    else:
        what = ("the model's confidence at each voxel: the largest of its class probabilities "
                "(0 to 1), not the probability of one label")
    return {
        "Description": f"MeshSeg probability map of {os.path.basename(relpath)} by the model "
                       f"{card.id}: {what}, on the T1w image's own voxel grid.",
        "Sources": [source_uri(relpath)],
        "SpatialReference": source_uri(relpath),
        "Model": model_facts(card),
    }


def volumes_tsv_from_csv(stats_csv: str) -> str:
    """The volume table (index, name, voxels, ml) of a batch's ``<scan>_<model>_stats.csv``."""
    rows = csv.DictReader(io.StringIO(stats_csv))
    lines = ["\t".join(BIDS["volume_columns"])]
    for row in rows:
        lines.append("\t".join(_cell(row[key]) for key in ("label", "name", "voxels", "ml")))
    return "\n".join(lines) + "\n"


def volumes_sidecar() -> dict:
    """The volume table's column descriptions."""
    return {
        "index": {"Description": "The label's value in the dseg image (background left out)."},
        "name": {"Description": "The label's name (the model's class)."},
        "voxels": {"Description": "Voxels with this label."},
        "ml": {"Description": "The label's volume: its voxels times the T1w's voxel volume.",
               "Units": "mL"},
    }


def json_text(value) -> str:
    """JSON as every file of the dataset is written (2-space indent, UTF-8, newline)."""
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def small_files(entities, relpath: str, card, stats_csv: str, probseg: bool = False) -> dict:
    """Derivative path -> text of one T1w's tables and sidecars (the images aside)."""
    paths = derivative_paths(entities, card.id, probseg_label(card))
    files = {paths["dseg_tsv"]: dseg_tsv(card.classes),
             paths["dseg_json"]: json_text(dseg_sidecar(card, relpath)),
             paths["volumes"]: volumes_tsv_from_csv(stats_csv),
             paths["volumes_json"]: json_text(volumes_sidecar())}
    if probseg:
        files[paths["probseg_json"]] = json_text(probseg_sidecar(card, relpath))
    return files


def top_files(dataset_name: str, description: dict, raw_link: str,
              version: str = __version__) -> dict:
    """dataset_description.json, README.md and .bidsignore."""
    return {DESCRIPTION: json_text(dataset_description(dataset_name, description, raw_link,
                                                       version)),
            README: readme(dataset_name, description, version), BIDSIGNORE: bidsignore()}


def batch_probability_name(name: str, model_id: str) -> str:
    """The probability image a batch item writes for ``--probseg`` (next to its labels)."""
    return f"{name}_{model_id}_probability.nii.gz"


def write_dataset(out_dir, dataset, images: dict, entries, card, *, batch_dir, raw_link: str,
                  probseg: bool = False) -> dict:
    """Write the derivative of a finished batch; return ``{"written": n, "removed": n}``.

    Parameters
    ----------
    out_dir : path
        The derivative's root.
    dataset : meshseg.export.bids.layout.Dataset
    images : dict
        Batch item name -> its :class:`~meshseg.export.bids.layout.Image`.
    entries : list of dict
        The batch's manifest entries (``name``, ``model``, ``status``, ``outputs``).
    card : ModelCard
    batch_dir : path
        The batch folder the items' files are in.
    raw_link : str
        ``DatasetLinks`` "raw".
    probseg : bool
        Also write each item's probability image as its probseg.

    The files of a failed item are removed (a stale result never stays beside a failure).
    """
    out, batch_dir = Path(out_dir), Path(batch_dir)
    written = removed = 0
    for relative, text in top_files(dataset.name, dataset.description, raw_link).items():
        _write(out / relative, text.encode("utf-8"))
        written += 1
    label = probseg_label(card)
    for entry in entries:
        image = images.get(entry.get("name"))
        if image is None or image.error or entry.get("model") != card.id:
            continue
        paths = derivative_paths(image.entities, card.id, label)
        if entry.get("status") == "failed":
            for relative in paths.values():
                if (out / relative).is_file():
                    (out / relative).unlink()
                    removed += 1
            continue
        outputs = entry.get("outputs") or {}
        stats = (batch_dir / outputs["stats"]).read_text(encoding="utf-8")
        files = {relative: text.encode("utf-8") for relative, text in
                 small_files(image.entities, image.relpath, card, stats, probseg).items()}
        files[paths["dseg"]] = (batch_dir / outputs["mask"]).read_bytes()
        if probseg:
            probability = batch_dir / batch_probability_name(entry["name"], card.id)
            if not probability.is_file():
                raise ExportError(f"{entry['name']}: its probability image is missing from "
                                  f"{batch_dir}; run the batch again.")
            files[paths["probseg"]] = probability.read_bytes()
        for relative, data in files.items():
            _write(out / relative, data)
            written += 1
    return {"written": written, "removed": removed}


def archive_names(out_dir) -> list:
    """The files of the derivative at `out_dir` that its ZIP holds (sorted, ``/``-separated):
    everything but hidden files (.bidsignore aside) and the batch folder's label and
    probability images (the dseg and probseg are the same bytes)."""
    out = Path(out_dir)
    names = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        relative = path.relative_to(out).as_posix()
        if relative != BIDSIGNORE and any(part.startswith(".") for part in relative.split("/")):
            continue
        if relative.startswith(f"{BATCH_DIR}/") and relative.endswith(
                ("_labels.nii.gz", "_probability.nii.gz")):
            continue
        names.append(relative)
    return names


def write_archive(out_dir, archive) -> Path:
    """The derivative as a reproducible ZIP (:func:`archive_names`; fixed time stamps)."""
    out, archive = Path(out_dir), Path(archive)
    tmp = archive.with_name(f".{archive.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zipped:
        for relative in archive_names(out):
            info = zipfile.ZipInfo(relative, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if relative.endswith(".gz") else \
                zipfile.ZIP_DEFLATED
            zipped.writestr(info, (out / relative).read_bytes())
    os.replace(tmp, archive)
    return archive


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


__all__ = ["archive_names", "dataset_description", "derivative_name", "derivative_paths",
           "desc_label", "dseg_sidecar", "dseg_tsv", "probseg_label", "probseg_sidecar",
           "small_files", "top_files", "volumes_tsv_from_csv", "write_archive",
           "write_dataset"]
