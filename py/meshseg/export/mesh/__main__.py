"""Check mesh files against a label mask, from the command line (tests and the docs' figures).

``python -m meshseg.export.mesh MESH [--mask LABELS.nii.gz] [--label NAME|ID] [--cli]``
prints one JSON object: the mesh's :func:`~meshseg.export.mesh.checks.summary` (closed,
manifold, oriented, enclosed volume, bounds; with ``--mask``, the mask's volume and
bounds and the errors), and with ``--cli`` the same of this package's own mesh of the mask
(``cli``: plus its triangles, STL bytes and milliseconds) and how the two agree
(``agreement``: relative volume difference, largest bounds difference in mm and in voxels).
Exit status 1 when the mesh is not closed, manifold and oriented.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    from meshseg.export.mesh import label_mask, mesh_of
    from meshseg.export.mesh.checks import summary
    from meshseg.export.mesh.formats import read, write

    parser = argparse.ArgumentParser(prog="python -m meshseg.export.mesh",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("mesh", help=".stl, .obj or .gii")
    parser.add_argument("--mask", help="the label image the mesh was made of")
    parser.add_argument("--label", help="the one label meshed (default: all non-zero)")
    parser.add_argument("--cli", action="store_true",
                        help="also mesh the mask here and compare (needs --mask)")
    args = parser.parse_args(argv)
    vertices, faces = read(Path(args.mesh).read_bytes(), args.mesh)
    out = {"file": args.mesh, "bytes": Path(args.mesh).stat().st_size}
    mask = affine = None
    if args.mask:
        import nibabel as nib

        image = nib.load(args.mask)
        labels = np.asarray(image.dataobj).astype(np.int64)
        affine = image.affine
        mask, _ = label_mask(labels, [], args.label)
    out.update(summary(vertices, faces, mask, affine))
    if args.cli and args.mask:
        start = time.perf_counter()
        v2, f2 = mesh_of(labels, affine, label=args.label)
        data = write("cli.stl", v2, f2)
        ms = (time.perf_counter() - start) * 1000
        cli = summary(v2, f2, mask, affine)
        cli.update({"bytes": len(data), "ms": round(ms, 1)})
        out["cli"] = cli
        voxel = float(np.max(np.linalg.norm(affine[:3, :3], axis=0)))
        diff = float(np.abs(np.asarray(out["bounds_mm"]) - np.asarray(cli["bounds_mm"])).max())
        out["agreement"] = {
            "volume_difference": (out["volume_mm3"] - cli["volume_mm3"]) / cli["volume_mm3"],
            "bounds_difference_mm": diff, "bounds_difference_voxels": diff / voxel,
            "voxel_mm": voxel}
    print(json.dumps(out, indent=1))
    return 0 if (out["closed"] and out["manifold"] and out["oriented"]) else 1


if __name__ == "__main__":
    sys.exit(main())
