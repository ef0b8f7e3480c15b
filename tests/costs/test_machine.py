"""Machine facts, the measured sgemm and kernel-GEMM peaks and triad bandwidth (small sizes), the
compute roof, the per-fingerprint cache, and `lstm-energy machine` end to end."""

import json

import numpy as np
import pytest

from lstm_energy.costs.caches import CacheHierarchy
from lstm_energy.errors import ConfigError, MachineInfoError
from lstm_energy.machine import bandwidth, cache, info, peak
from lstm_energy.machine.roofline import machine_profile, roofline_points

EPYC = CacheHierarchy.from_sizes({"L1": 32768, "L2": 524288, "LLC": 33554432})


def test_cpu_model_from_a_fake_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Gold 6140\n\n"
        "processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Gold 6140\n"
    )
    assert info.cpu_model(cpuinfo) == "Intel(R) Xeon(R) Gold 6140"


def test_fingerprint_follows_the_caches():
    here = info.machine_info(caches=EPYC)
    smaller = info.machine_info(caches=CacheHierarchy.from_sizes({"L1": 32768, "L2": 524288, "LLC": 8 << 20}))
    assert here.fingerprint == info.machine_info(caches=EPYC).fingerprint
    assert here.fingerprint != smaller.fingerprint
    assert len(here.fingerprint) == 16


def test_scipy_blas_is_the_library_scipy_loaded():
    blas = info.scipy_blas()
    assert blas.internal_api in ("openblas", "mkl", "blis", "flexiblas")
    assert blas.filepath
    assert blas.version in blas.label


def test_sgemm_peak_pins_threads_and_states_its_source():
    result = peak.measure_sgemm(threads=1, n=128, repeats=2)
    assert result.threads_pinned == 1
    assert result.best_gflops >= result.median_gflops > 0
    assert result.source.startswith("measured: sgemm 128x128x128 float32 via scipy.linalg.blas")
    assert "1 thread(s) pinned" in result.source


def test_triad_kernel_computes_the_triad():
    from lstm_energy.machine._triad import triad

    b, c = np.arange(10.0), np.linspace(0, 1, 10)
    a = np.full(10, -1.0)
    triad(a, b, c, 3.0, 2, 7)
    expected = np.full(10, -1.0)
    expected[2:7] = b[2:7] + 3.0 * c[2:7]
    np.testing.assert_array_equal(a, expected)
    with pytest.raises(ValueError, match="0 <= start <= stop"):
        triad(a, b, c, 1.0, 5, 11)


@pytest.mark.parametrize("threads", [1, 2])
def test_triad_bandwidth_small_arrays(threads):
    result = bandwidth.measure_triad(threads, array_bytes=1 << 20, repeats=2)
    assert result.array_bytes == 1 << 20
    assert result.best_bytes_per_second >= result.median_bytes_per_second > 0
    assert "STREAM-like triad" in result.source and "write-allocate not counted" in result.source


def test_default_triad_arrays_dwarf_the_llc():
    assert bandwidth.default_array_bytes(32 << 20) == 64 << 20
    assert bandwidth.default_array_bytes(256 << 20) == 512 << 20
    assert bandwidth.default_array_bytes(None) == 64 << 20


def test_cache_directory_respects_xdg(tmp_path):
    assert cache.cache_directory({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "lstm_energy"
    assert cache.cache_directory({"HOME": "/home/u"}) == cache.Path("/home/u/.cache/lstm_energy")


def _fake_measurements(calls, kernel_gflops=16.0, isa="avx512"):
    def peaks():
        calls.append("peaks")
        return [peak.GemmPeak(1, 1, 64, 1, 10.0, 9.0, info.scipy_blas())]

    def kernel_peaks():
        calls.append("kernel")
        return [peak.KernelGemmPeak(1, 1, 64, 1, kernel_gflops, kernel_gflops * 0.9, isa)]

    def bws():
        calls.append("bandwidths")
        return [bandwidth.TriadBandwidth(1, 1 << 20, 1, 2e9, 1.5e9)]

    return peaks, kernel_peaks, bws


MEASURED = ["peaks", "kernel", "bandwidths"]


def _profile_kwargs(tmp_path, calls, isa_now="avx512"):
    peaks, kernel_peaks, bws = _fake_measurements(calls)
    return dict(
        directory=tmp_path,
        info=info.machine_info(caches=EPYC),
        measure_peaks=peaks,
        measure_kernel_peaks=kernel_peaks,
        measure_bandwidths=bws,
        current_kernel_isa=lambda: isa_now,
    )


def test_profile_is_cached_per_fingerprint_and_refresh_remeasures(tmp_path):
    calls = []
    kwargs = _profile_kwargs(tmp_path, calls)
    here = kwargs["info"]
    first = machine_profile(**kwargs)
    assert first["cache"]["hit"] is False and calls == MEASURED
    assert (tmp_path / f"machine-{here.fingerprint}.json").exists()
    second = machine_profile(**kwargs)
    assert second["cache"]["hit"] is True and calls == MEASURED
    assert second["roofline"] == [
        {
            "threads": 1,
            "peak_gflops": 16.0,
            "peak_source": "kernels' packed GEMM, avx512",
            "sgemm_gflops": 10.0,
            "kernel_gemm_gflops": 16.0,
            "bandwidth_gb_per_second": 2.0,
            "ridge_flop_per_byte": 8.0,
        }
    ]
    machine_profile(refresh=True, **kwargs)
    assert calls == MEASURED * 2
    other = info.machine_info(caches=CacheHierarchy.from_sizes({"L2": 1 << 20, "LLC": 4 << 20}))
    assert cache.load_profile(other.fingerprint, tmp_path) is None


def test_corrupt_or_old_cache_file_is_ignored(tmp_path):
    path = cache.profile_path("abc", tmp_path)
    path.write_text("{not json")
    assert cache.load_profile("abc", tmp_path) is None
    path.write_text(json.dumps({"schema": 0, "fingerprint": "abc"}))
    assert cache.load_profile("abc", tmp_path) is None


def test_a_profile_without_the_kernel_gemm_is_remeasured_but_still_readable_by_the_report(tmp_path):
    calls = []
    kwargs = _profile_kwargs(tmp_path, calls)
    old = {"schema": 1, "fingerprint": kwargs["info"].fingerprint, "roofline": []}
    cache.profile_path(old["fingerprint"], tmp_path).write_text(json.dumps(old))
    assert cache.load_profile(old["fingerprint"], tmp_path) is None
    assert cache.load_profile(old["fingerprint"], tmp_path, accept_older=True) == old
    assert machine_profile(**kwargs)["cache"]["hit"] is False and calls == MEASURED


def test_a_cached_kernel_gemm_of_another_isa_path_is_remeasured(tmp_path):
    calls = []
    machine_profile(**_profile_kwargs(tmp_path, calls, isa_now="avx512"))
    assert machine_profile(**_profile_kwargs(tmp_path, calls, isa_now="avx512"))["cache"]["hit"] is True
    assert machine_profile(**_profile_kwargs(tmp_path, calls, isa_now="avx2"))["cache"]["hit"] is False
    assert calls == MEASURED * 2


def test_roofline_points_need_both_figures():
    assert roofline_points([{"threads": 2, "best_gflops": 1.0}], [{"threads": 1, "best_bytes_per_second": 1.0}]) == []


SGEMM = {"threads": 1, "best_gflops": 121.6, "blas_library": "OpenBLAS", "blas_core_type": "Haswell"}
TRIAD = {"threads": 1, "best_bytes_per_second": 33.6e9}


@pytest.mark.parametrize(
    "kernel_gflops, roof, source",
    [
        (231.7, 231.7, "kernels' packed GEMM, avx512"),
        (80.0, 121.6, "OpenBLAS sgemm, Haswell kernel"),
        (None, 121.6, "OpenBLAS sgemm, Haswell kernel"),
    ],
)
def test_the_compute_roof_is_the_faster_gemm_and_names_it(kernel_gflops, roof, source):
    kernels = [] if kernel_gflops is None else [{"threads": 1, "best_gflops": kernel_gflops, "isa": "avx512"}]
    (point,) = roofline_points([SGEMM], [TRIAD], kernels)
    assert point["peak_gflops"] == roof and point["peak_source"] == source
    assert point["sgemm_gflops"] == 121.6 and point["kernel_gemm_gflops"] == kernel_gflops
    assert point["ridge_flop_per_byte"] == pytest.approx(roof / 33.6)


def test_kernel_gemm_peak_pins_openmp_threads_and_states_its_path():
    if peak.kernel_gemm_unavailable_reason():
        pytest.skip(peak.kernel_gemm_unavailable_reason())
    from lstm_energy.kernels import isa

    result = peak.measure_kernel_gemm(threads=1, n=96, repeats=2)
    assert result.threads_pinned == 1 and result.isa == isa.current() == peak.kernel_gemm_isa()
    assert result.best_gflops >= result.median_gflops > 0
    assert result.source.startswith(f"measured: the kernels' packed GEMM 96x96x96 float32 ({isa.current()} path")


def test_an_unwritable_cache_directory_fails_before_measuring(tmp_path):
    calls = []
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    kwargs = {**_profile_kwargs(tmp_path, calls), "directory": blocker / "cache"}
    with pytest.raises(ConfigError, match="cannot write the machine profile under .*--cache-dir"):
        machine_profile(**kwargs)
    assert calls == []


def test_saving_into_an_unwritable_directory_says_how_to_choose_another(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot write the machine profile under .*--cache-dir"):
        cache.save_profile({"fingerprint": "abc"}, blocker / "cache")


def test_cli_machine_with_an_unwritable_cache_dir_exits_2_in_one_line(tmp_path, capsys):
    from lstm_energy.cli import main

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["machine", "--cache-dir", str(blocker / "cache")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ERROR: cannot write the machine profile") and err.count("\n") == 1


def test_missing_triad_extension_says_how_to_build():
    with pytest.raises(MachineInfoError, match="build_ext --inplace"):
        bandwidth.triad_kernel("lstm_energy.machine._no_such_triad")


def test_cli_machine_end_to_end(tmp_path, capsys):
    """The real command: measures here (a few seconds), caches, then answers from the cache."""
    from lstm_energy.cli import main

    assert main(["machine", "--json", "--refresh", "--cache-dir", str(tmp_path)]) == 0
    profile = json.loads(capsys.readouterr().out)
    assert profile["cache"]["hit"] is False
    assert [p["threads"] for p in profile["peak_gflops"]] == list(range(1, profile["machine"]["cores"] + 1))
    assert all(p["best_gflops"] > 0 and p["source"].startswith("measured: sgemm") for p in profile["peak_gflops"])
    if profile["kernel_gemm_gflops"]:
        assert [k["threads"] for k in profile["kernel_gemm_gflops"]] == [p["threads"] for p in profile["peak_gflops"]]
        for point in profile["roofline"]:
            assert point["peak_gflops"] == max(point["sgemm_gflops"], point["kernel_gemm_gflops"])
    else:
        assert profile["kernel_gemm_unavailable"]
    assert all(b["best_bytes_per_second"] > 0 for b in profile["bandwidth"])
    assert {c["name"] for c in profile["hardware_counters"]} == {"hwcounters.core", "hwcounters.dram"}
    assert main(["machine", "--cache-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "cached" in text and "ridge" in text and "measured: STREAM-like triad" in text
