"""The page's worker starts before scipy is loaded (site/js/worker/python-runtime.js loads it
after start-up): importing meshseg.service, opening a scan and making its viewer copy must not
need scipy.ndimage, and the first conform must (so that the worker awaits scipy before it)."""

import subprocess
import sys
import textwrap
from pathlib import Path

import nibabel as nib
import numpy as np

PY = Path(__file__).resolve().parents[1] / "py"


def _modules_after(script: str) -> set[str]:
    """Module names loaded after running `script` in a fresh interpreter."""
    code = textwrap.dedent(script) + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(PY), "PATH": ""})
    return set(out.stdout.split())


def _scan(tmp_path):
    rng = np.random.default_rng(3)
    data = rng.integers(0, 200, (64, 72, 56)).astype(np.int16)
    path = tmp_path / "small.nii.gz"
    nib.save(nib.Nifti1Image(data, np.diag([1.2, 1.2, 1.5, 1])), path)
    return path


def test_start_open_and_viewer_copy_need_no_scipy_ndimage(tmp_path):
    path = _scan(tmp_path)
    loaded = _modules_after(f"""
        from meshseg.service import Service
        service = Service({{}})
        data = open({str(path)!r}, "rb").read()
        opened = service.call("open", {{"data": data, "name": "small.nii.gz"}})
        assert opened["ok"], opened
        viewer = service.call("viewer_image", {{"scan": opened["value"]["scan"]}})
        assert viewer["ok"], viewer
    """)
    assert "meshseg.service" in loaded
    assert not any(name.startswith("scipy.ndimage") for name in loaded)


def test_conform_imports_scipy_ndimage_when_it_runs(tmp_path):
    path = _scan(tmp_path)
    loaded = _modules_after(f"""
        import nibabel as nib
        from meshseg.conform import conform
        conform(nib.load({str(path)!r}))
    """)
    assert "scipy.ndimage" in loaded
