"""`lstm-energy machine`: a file given as --cache-dir is named as one; GEMMs slower with more threads are
called out; a cached profile of another kernel build or another host is measured again."""

import json

from lstm_energy.cli import main
from lstm_energy.cli.machine_cmd import slower_with_more_threads
from lstm_energy.costs.caches import CacheHierarchy
from lstm_energy.machine import bandwidth, info, peak
from lstm_energy.machine.roofline import machine_profile

EPYC = CacheHierarchy.from_sizes({"L1": 48 << 10, "L2": 1 << 20, "LLC": 32 << 20})


def test_a_file_as_cache_dir_is_named_a_file_not_errno_text(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("")
    assert main(["machine", "--cache-dir", str(afile)]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a directory" in err and "File exists" not in err and "--cache-dir" in err


def test_more_threads_slower_than_one_is_called_out():
    profile = {
        "peak_gflops": [{"threads": 1, "best_gflops": 123.5}, {"threads": 2, "best_gflops": 90.6}],
        "kernel_gemm_gflops": [{"threads": 1, "best_gflops": 229.8}, {"threads": 2, "best_gflops": 400.0}],
    }
    notes = slower_with_more_threads(profile)
    assert len(notes) == 1 and "sgemm with 2 threads (90.6 GFLOP/s) is slower than with 1 (123.5)" in notes[0]
    assert "shared or busy" in notes[0]


def _kwargs(tmp_path, calls, build="b1", hostname="vm"):
    def peaks():
        calls.append("peaks")
        return [peak.GemmPeak(1, 1, 64, 1, 10.0, 9.0, info.scipy_blas())]

    def kernel_peaks():
        return [peak.KernelGemmPeak(1, 1, 64, 1, 16.0, 15.0, "avx512")]

    def bws():
        return [bandwidth.TriadBandwidth(1, 1 << 20, 1, 2e9, 1.5e9)]

    return dict(
        directory=tmp_path,
        info=info.machine_info(caches=EPYC),
        measure_peaks=peaks,
        measure_kernel_peaks=kernel_peaks,
        measure_bandwidths=bws,
        current_kernel_isa=lambda: "avx512",
        current_kernel_build=lambda: build,
        current_identity=lambda: {"hostname": hostname, "machine_id": "m1", "cpu": {"family": 26, "model": 2}},
    )


def test_a_profile_of_another_kernel_build_or_host_is_measured_again(tmp_path):
    calls = []
    first = machine_profile(**_kwargs(tmp_path, calls))
    saved = json.loads(next(tmp_path.glob("machine-*.json")).read_text())
    assert saved["kernel_build"] == "b1" and saved["identity"]["hostname"] == "vm" and "cache" not in saved
    assert first["cache"]["hit"] is False
    assert machine_profile(**_kwargs(tmp_path, calls))["cache"]["hit"] is True
    assert machine_profile(**_kwargs(tmp_path, calls, build="b2"))["cache"]["hit"] is False
    assert machine_profile(**_kwargs(tmp_path, calls, build="b2", hostname="twin"))["cache"]["hit"] is False
    assert calls == ["peaks"] * 3
