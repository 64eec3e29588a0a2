"""Pure parts of meshseg.bench.native/webgpu/ops: medians, ratios, FLOPs, tables, /proc parsing."""

from __future__ import annotations

import argparse
import json

import nibabel as nib
import numpy as np
import pytest

from meshseg.bench import native as bench
from meshseg.bench import webgpu as bench_webgpu

STATUS = """Name:\tchromium
Umask:\t0022
State:\tS (sleeping)
PPid:\t4242
VmPeak:\t 9000000 kB
VmHWM:\t 1460004 kB
VmRSS:\t  812345 kB
Threads:\t12
"""


def _native(total, run, peak, gflops=(1.5, 2.0)):
    work = [{"model": "m", "shape": [2, 2, 2], "voxels": 8, "gflop": g} for g in gflops]
    return {"total_s": total, "run_s": run, "peak_rss_mb": peak,
            "stages": {"inference": run + 0.5}, "work": work}


def _browser(total, run_ms, peak, gflops=(1.5, 2.0)):
    work = [{"model": "m", "shape": [2, 2, 2], "voxels": 8, "gflop": g} for g in gflops]
    return {"run_to_done_s": total, "renderer_peak_mb": peak, "timings": {"inference": 9.0},
            "inference": [{"runMs": ms} for ms in run_ms], "work": work,
            "backend": {"provider": "wasm", "threads": 1}}


def test_parse_threads_accepts_lists_and_rejects_nonsense():
    assert bench.parse_threads("1,2") == [1, 2]
    assert bench.parse_threads("4") == [4]
    for bad in ("", "0", "one", "1,-2"):
        with pytest.raises(argparse.ArgumentTypeError):
            bench.parse_threads(bad)


def test_ratio_and_median_skip_missing_values():
    assert bench.ratio(6.0, 3.0) == 2.0
    assert bench.ratio(None, 3.0) is None
    assert bench.ratio(1.0, 0.0) is None
    assert bench.median_or_none([3.0, None, 1.0, 2.0]) == 2.0
    assert bench.median_or_none([None]) is None


def test_flops_come_from_result_work_and_browser_run_time_from_run_ms():
    assert bench.total_gflop([{"gflop": 1.25}, {"gflop": 0.75}]) == 2.0
    assert bench.total_gflop([]) == 0.0
    assert bench.browser_run_s(_browser(1.0, [1500.0, 500.0], 10)) == 2.0


def test_summarise_pair_takes_medians_and_equal_thread_ratios():
    native = [_native(10.0, 3.5, 800), _native(12.0, 4.0, 820), _native(11.0, 3.0, 810)]
    browser = [_browser(20.0, [7000.0], 1400), _browser(24.0, [8000.0], 1500),
               _browser(22.0, [7500.0], 1450)]
    row = bench.summarise_pair("m", 2, native, browser, [0, 3, 0])
    assert row["native_total_s"] == 11.0 and row["browser_total_s"] == 22.0
    assert row["native_run_s"] == 3.5 and row["browser_run_s"] == 7.5
    assert row["ratio_total"] == 2.0
    assert row["ratio_inference"] == pytest.approx(7.5 / 3.5)
    assert row["gflop"] == 3.5 and row["browser_gflop"] == 3.5
    assert row["native_gflops"] == 1.0 and row["browser_gflops"] == pytest.approx(3.5 / 7.5)
    assert row["native_peak_mb"] == 810 and row["browser_peak_mb"] == 1450
    assert row["differing_voxels"] == 3  # the worst repeat
    assert row["repeats"] == 3


def test_summarise_pair_without_browser_runs_leaves_browser_columns_empty():
    row = bench.summarise_pair("m", 1, [_native(10.0, 4.0, 800)], [], [])
    assert row["browser_total_s"] is None and row["ratio_total"] is None
    assert row["differing_voxels"] is None and row["native_gflops"] == pytest.approx(3.5 / 4)


def test_compare_table_aligns_rows_and_marks_missing_values():
    full = bench.summarise_pair("model21_104class", 2, [_native(10.0, 4.0, 800)],
                                [_browser(20.0, [8000.0], 1400)], [0])
    empty = bench.summarise_pair("mindgrab", 1, [_native(10.0, 4.0, 800)], [], [])
    lines = bench.compare_table([full, empty]).splitlines()
    assert len({len(line) for line in lines}) == 1  # fixed width
    assert lines[0].split()[:3] == ["model", "thr", "GFLOP"]
    cells = lines[2].split()
    assert cells[0] == "model21_104class" and cells[3] == "10.0" and cells[5] == "20.0"
    assert cells[7] == "2.00" and cells[-1] == "0"
    assert lines[3].split()[-1] == "-"


def test_browser_report_points_to_the_webgpu_figures():
    row = bench.summarise_pair("model5_gw_ae", 2, [_native(10.0, 4.0, 800)],
                               [_browser(20.0, [8000.0], 1400)], [0])
    table, note = bench.browser_report([row]).split("\n\n")
    assert table == bench.compare_table([row])
    assert note.startswith("WebGPU: the rows above are WASM")
    assert "meshseg.bench.webgpu" in note and "tests/e2e/webgpu.test.mjs" in note


def _gpu_case(total: float, run_ms: float, provider: str, adapter: dict | None) -> dict:
    return {"run_to_done_s": total, "inference": [{"runMs": run_ms}], "work": [{"gflop": 100.0}],
            "backend": {"provider": provider, "threads": 8, "fallbackReason": None},
            "adapter": adapter}


def test_webgpu_rows_ratios_and_auto_choices():
    gpu = {"vendor": "nvidia", "architecture": "", "isFallbackAdapter": False}
    fast = bench_webgpu.summarise_model("a", [_gpu_case(9.0, 6000, "wasm", gpu)],
                                        [_gpu_case(3.0, 1000, "webgpu", gpu)], [0])
    slow = bench_webgpu.summarise_model("b", [_gpu_case(2.0, 1000, "wasm", gpu)],
                                        [_gpu_case(3.0, 2000, "webgpu", gpu)], [0])
    wrong = bench_webgpu.summarise_model("c", [_gpu_case(9.0, 6000, "wasm", gpu)],
                                         [_gpu_case(3.0, 1000, "webgpu", gpu)], [12])
    assert (fast["speedup_total"], fast["speedup_run"], fast["faster"]) == (3.0, 6.0, "webgpu")
    assert (slow["speedup_total"], slow["faster"]) == (2.0 / 3.0, "wasm")
    assert bench_webgpu.auto_choices([fast, slow, wrong]) == {"a": True, "b": False, "c": False}
    text = bench_webgpu.report([fast, slow, wrong])
    assert "vendor 'nvidia' (hardware" in text
    assert text.splitlines()[-1] == "provider=auto may use WebGPU for: a"


def test_webgpu_on_a_software_adapter_is_never_chosen_for_auto():
    soft = {"vendor": "google", "architecture": "swiftshader", "isFallbackAdapter": True}
    row = bench_webgpu.summarise_model("a", [_gpu_case(90.0, 6000, "wasm", soft)],
                                       [_gpu_case(3.0, 1000, "webgpu", soft)], [0])
    assert bench_webgpu.auto_choices([row]) == {"a": False}
    assert "software emulation" in bench_webgpu.describe_adapter(soft)


def test_measured_webgpu_rows_are_hardware_and_label_exact():
    measured = json.loads((bench.REPO / "bench" / "webgpu-measured.json").read_text())
    assert len(measured["rows"]) == len(measured["first_run"]) == 9
    for row in measured["rows"] + measured["first_run"]:
        assert bench_webgpu.is_hardware(row["adapter"]), row["model"]
        assert row["differing_voxels"] == 0 and row["webgpu_provider"] == "webgpu", row["model"]
        assert row["webgpu_fallback"] is None, row["model"]


def test_parse_proc_status_reads_the_high_water_mark():
    assert bench.parse_proc_status(STATUS) == {"name": "chromium", "vmhwm_kb": 1460004}
    assert bench.parse_proc_status("Name:\tkthreadd\nPPid:\t2\n")["vmhwm_kb"] is None


def _fake_process(proc, pid, cmdline: bytes, status: str):
    folder = proc / str(pid)
    folder.mkdir()
    (folder / "cmdline").write_bytes(cmdline)
    (folder / "status").write_text(status)


def test_renderer_peaks_keeps_only_this_browsers_renderers(tmp_path):
    ours, other = "/tmp/meshseg-bench-abc", "/tmp/meshseg-bench-abcdef"
    hwm = "Name:\tchromium\nVmHWM:\t{} kB\n"
    # Chromium rewrites renderer command lines as one space-separated string.
    _fake_process(tmp_path, 10, f"chromium --type=renderer --user-data-dir={ours} --x".encode(),
                  hwm.format(500))
    _fake_process(tmp_path, 11, b"\0".join([b"chromium", b"--type=renderer",
                                            f"--user-data-dir={ours}".encode()]),
                  hwm.format(900))
    _fake_process(tmp_path, 12, f"chromium --type=gpu-process --user-data-dir={ours}".encode(),
                  hwm.format(5000))
    _fake_process(tmp_path, 13, f"chromium --type=renderer --user-data-dir={other}".encode(),
                  hwm.format(7000))
    _fake_process(tmp_path, 14, b"", "Name:\tkworker\n")
    (tmp_path / "self").mkdir()
    assert bench.renderer_peaks(ours, tmp_path) == [{"pid": 10, "vmhwm_kb": 500},
                                                    {"pid": 11, "vmhwm_kb": 900}]


def test_differing_voxels_counts_label_changes(tmp_path):
    labels = np.zeros((4, 5, 6), np.uint8)
    changed = labels.copy()
    changed[1, 2, 3] = 2
    changed[0, 0, 0] = 1
    for name, data in (("a.nii.gz", labels), ("b.nii.gz", changed)):
        nib.save(nib.Nifti1Image(data, np.eye(4)), str(tmp_path / name))
    assert bench.differing_voxels(tmp_path / "a.nii.gz", tmp_path / "b.nii.gz") == 2
    assert bench.differing_voxels(tmp_path / "a.nii.gz", tmp_path / "a.nii.gz") == 0
    nib.save(nib.Nifti1Image(labels[:3], np.eye(4)), str(tmp_path / "c.nii.gz"))
    with pytest.raises(ValueError, match="shape"):
        bench.differing_voxels(tmp_path / "a.nii.gz", tmp_path / "c.nii.gz")


def test_summarise_pair_reports_the_conform_ratio_from_stage_medians():
    native = [_native(10.0, 3.5, 800), _native(12.0, 4.0, 820)]
    browser = [_browser(20.0, [7000.0], 1400), _browser(24.0, [8000.0], 1500)]
    for case, seconds in zip(native + browser, (1.0, 3.0, 2.5, 3.5), strict=True):
        (case.get("stages") or case["timings"])["conform"] = seconds
    row = bench.summarise_pair("m", 2, native, browser, [0, 0])
    assert row["native_conform_s"] == 2.0 and row["browser_conform_s"] == 3.0
    assert row["ratio_conform"] == 1.5
    assert "x conf" in bench.compare_table([row]) and " 1.50" in bench.compare_table([row])


def test_op_profile_times_every_node_of_a_real_onnxruntime_run(tmp_path):
    from meshseg.bench import ops as bench_ops
    from own_models import labels_model

    path = tmp_path / "model.onnx"
    path.write_bytes(labels_model())
    tensor = np.random.default_rng(0).random((1, 1, 24, 20, 16), dtype=np.float32)
    events = bench_ops.profile_run(path, "scan", tensor, threads=1, optimisation="disable")
    assert sorted(e["op"] for e in events) == sorted(
        ["Sub", "Mul", "Sigmoid", "GreaterOrEqual", "Cast"])
    assert all(e["ms"] >= 0 for e in events)
    assert {tuple(e["shape"]) for e in events} == {(1, 1, 24, 20, 16)}
    rows = bench_ops.by_operator(events)
    assert abs(sum(r["share"] for r in rows) - 1.0) < 1e-9
    text = bench_ops.report({"model": "byo", "input_shape": [1, 1, 24, 20, 16], "threads": 1,
                             "optimisation": "disable", "total_ms": sum(e["ms"] for e in events),
                             "operators": rows, "nodes": events}, top=3)
    assert text.startswith("byo: input [1, 1, 24, 20, 16], 1 threads, optimisation disable")
    assert len(text.splitlines()) == 2 + len(rows) + 1 + 3
