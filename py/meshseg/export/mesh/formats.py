"""Mesh files: binary STL, Wavefront OBJ and GIfTI, each a writer and a reader.

Every writer takes ``(vertices, faces)`` in world (scanner RAS) millimetres, faces wound
outward, and returns the file's bytes; every reader returns ``(vertices, faces)`` again.
STL stores each triangle's three corners (float32) and no shared vertices: its reader joins
corners with equal coordinates, which gives back the written mesh exactly, since equal
vertices were written as equal float32 triples. OBJ and GIfTI store shared vertices.

Examples
--------
>>> import numpy as np
>>> v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float)
>>> f = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
>>> data = write_stl(v, f)
>>> len(data)  # 80-byte header, count, 50 bytes a triangle
284
>>> v2, f2 = read_stl(data)
>>> bool(np.allclose(v2[f2], v[f]))
True
>>> read(write("x.obj", v, f), "x.obj")[1].tolist() == f.tolist()
True
"""

from __future__ import annotations

import io
import struct

import numpy as np

#: File extensions and their formats.
EXTENSIONS = {".stl": "stl", ".obj": "obj", ".gii": "gifti"}

STL_HEADER = b"meshseg binary STL: world (scanner RAS) millimetres, outward normals"
_STL_DTYPE = np.dtype([("normal", "<f4", 3), ("corners", "<f4", (3, 3)), ("attr", "<u2")])


def kind_of(name: str) -> str:
    """``stl``, ``obj`` or ``gifti``, from a file name's extension (ValueError otherwise)."""
    lower = str(name).lower()
    for ending, kind in EXTENSIONS.items():
        if lower.endswith(ending):
            return kind
    raise ValueError(f"{name}: not a mesh file name; use {', '.join(EXTENSIONS)}")


def write(name: str, vertices, faces) -> bytes:
    """The mesh as the file `name` asks for by its extension."""
    return {"stl": write_stl, "obj": write_obj, "gifti": write_gifti}[kind_of(name)](
        vertices, faces)


def read(data: bytes, name: str):
    """``(vertices, faces)`` of a mesh file's bytes; the format by `name`'s extension."""
    return {"stl": read_stl, "obj": read_obj, "gifti": read_gifti}[kind_of(name)](data)


def face_normals(vertices, faces) -> np.ndarray:
    """Unit normals of the faces (right-hand rule); zero for a degenerate face."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    length = np.linalg.norm(n, axis=1, keepdims=True)
    return np.divide(n, length, out=np.zeros_like(n), where=length > 0)


# --- STL (binary) ---------------------------------------------------------------------

def write_stl(vertices, faces) -> bytes:
    """Binary STL: an 80-byte header (not starting with "solid", which marks ASCII STL),
    the triangle count, then per triangle its unit normal, three corners (float32) and a
    zero attribute word."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    records = np.zeros(len(f), dtype=_STL_DTYPE)
    records["normal"] = face_normals(v, f)
    records["corners"] = v[f]
    return STL_HEADER.ljust(80, b" ") + struct.pack("<I", len(f)) + records.tobytes()


def read_stl(data: bytes):
    """``(vertices, faces)`` of a binary STL (corners with equal coordinates joined)."""
    data = bytes(data)
    if len(data) < 84:
        raise ValueError("STL: shorter than its 84-byte header")
    (count,) = struct.unpack_from("<I", data, 80)
    if len(data) != 84 + 50 * count:
        if data[:5].lower() == b"solid":
            raise ValueError("STL: an ASCII STL; only binary STL is read")
        raise ValueError(f"STL: {len(data)} bytes, but {count} triangles need {84 + 50 * count}")
    records = np.frombuffer(data, dtype=_STL_DTYPE, count=count, offset=84)
    corners = records["corners"].reshape(-1, 3)
    vertices, inverse = np.unique(corners, axis=0, return_inverse=True)
    return vertices.astype(np.float64), inverse.reshape(-1, 3).astype(np.int64)


# --- OBJ --------------------------------------------------------------------------------

def write_obj(vertices, faces) -> bytes:
    """Wavefront OBJ: ``v x y z`` lines (9 significant digits), then ``f a b c`` (from 1)."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    out = io.StringIO()
    out.write("# meshseg: world (scanner RAS) millimetres, faces wound outward\n")
    np.savetxt(out, v, fmt="v %.9g %.9g %.9g")
    np.savetxt(out, f + 1, fmt="f %d %d %d")
    return out.getvalue().encode("ascii")


def read_obj(data: bytes):
    """``(vertices, faces)`` of an OBJ of triangles (``f a/t/n`` forms and negative
    indices accepted; polygons are fanned into triangles)."""
    vertices, faces = [], []
    for line in bytes(data).decode("utf-8", errors="replace").splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "v":
            vertices.append([float(x) for x in parts[1:4]])
        elif parts[0] == "f":
            index = [int(p.split("/")[0]) for p in parts[1:]]
            index = [i - 1 if i > 0 else len(vertices) + i for i in index]
            faces.extend([index[0], index[k], index[k + 1]] for k in range(1, len(index) - 1))
    return (np.asarray(vertices, dtype=np.float64).reshape(-1, 3),
            np.asarray(faces, dtype=np.int64).reshape(-1, 3))


# --- GIfTI ------------------------------------------------------------------------------

def write_gifti(vertices, faces) -> bytes:
    """GIfTI surface (nibabel): a POINTSET array (float32, scanner coordinates) and a
    TRIANGLE array (int32), each gzip-compressed base64."""
    import nibabel as nib
    from nibabel.gifti import GiftiCoordSystem, GiftiDataArray, GiftiImage

    scanner = GiftiCoordSystem(dataspace="NIFTI_XFORM_SCANNER_ANAT",
                               xformspace="NIFTI_XFORM_SCANNER_ANAT", xform=np.eye(4))
    points = GiftiDataArray(np.asarray(vertices, dtype=np.float32),
                            intent="NIFTI_INTENT_POINTSET", datatype="NIFTI_TYPE_FLOAT32",
                            encoding="GIFTI_ENCODING_B64GZ", coordsys=scanner)
    triangles = GiftiDataArray(np.asarray(faces, dtype=np.int32),
                               intent="NIFTI_INTENT_TRIANGLE", datatype="NIFTI_TYPE_INT32",
                               encoding="GIFTI_ENCODING_B64GZ")
    image = GiftiImage(darrays=[points, triangles])
    image.meta = nib.gifti.GiftiMetaData({"Name": "meshseg surface",
                                          "Units": "mm (world, scanner RAS)"})
    return image.to_bytes()


def read_gifti(data: bytes):
    """``(vertices, faces)`` of a GIfTI surface."""
    from nibabel.gifti import GiftiImage

    image = GiftiImage.from_bytes(bytes(data))
    points = image.get_arrays_from_intent("NIFTI_INTENT_POINTSET")
    triangles = image.get_arrays_from_intent("NIFTI_INTENT_TRIANGLE")
    if not points or not triangles:
        raise ValueError("GIfTI: no POINTSET and TRIANGLE arrays")
    return (np.asarray(points[0].data, dtype=np.float64),
            np.asarray(triangles[0].data, dtype=np.int64))
