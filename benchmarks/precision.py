"""Reduced-precision inference peers (issue 18), 1 thread, interleaved in one process:
our fp32 / int8 / bf16 forwards against PyTorch fp32, its dynamic quantized LSTM/GRU
(``quantize_dynamic``, qint8) and bf16, on the fp32 grid's shapes; plus accuracy against our fp32.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/precision.py [--rounds 5] [--cells lstm,gru]
    LSTM_ENERGY_ISA=avx2 python benchmarks/precision.py --ours-only    # our three precisions only, no torch

Prints one row per cell and shape: median ms per call, the speed-ups fp32/int8 and fp32/bf16 (ours),
torch-int8/ours-int8, torch-bf16/ours-bf16 (> 1: ours faster), the relative output errors and, where
the products take the AMX tiles, amx-int8 / amx-bf16: the same forward with them switched off (VNNI /
AVX512_BF16 alone) over the AMX one (n/a elsewhere). A few minutes.
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np
from grid import SHAPES  # benchmarks/grid.py, beside this script


def cpu_name() -> str:
    info = {}
    for line in open("/proc/cpuinfo"):
        if ":" in line:
            k, v = (s.strip() for s in line.split(":", 1))
            info.setdefault(k, v)
    return (
        f"{info.get('vendor_id')} family {info.get('cpu family')} model {info.get('model')} ({info.get('model name')})"
    )


def _runs(torch, ours_cls, torch_cls, cell, shape):
    """The calls to time for one cell and shape, and our layer and input (for the accuracy)."""
    from lstm_energy.kernels.lowp import amx_enabled, use_amx

    sizes = SHAPES[shape]
    B, T, D, H = sizes["batch"], sizes["seq_len"], sizes["input_size"], sizes["hidden_size"]
    m = ours_cls(D, H, seed=0).eval()
    x = np.random.default_rng(1).standard_normal((T, B, D)).astype(np.float32)
    runs = {}
    for p in ("fp32", "int8", "bf16"):
        runs[p] = lambda p=p: m.eval(precision=p)(x)
    if amx_enabled():  # the same forwards with the AMX tiles switched off: VNNI / AVX512_BF16 alone

        def off_amx(p):
            with use_amx(False):
                return m.eval(precision=p)(x)

        runs["int8-noamx"] = lambda: off_amx("int8")
        runs["bf16-noamx"] = lambda: off_amx("bf16")
    if torch is None:  # --ours-only
        return runs, m, x
    t = torch_cls(D, H).eval()
    t.load_state_dict({k: torch.from_numpy(v) for k, v in m.state_dict().items()})
    xt = torch.from_numpy(x)
    runs["t-fp32"] = lambda: t(xt)
    if cell != "rnn":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tq = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(t), {torch_cls}, dtype=torch.qint8)
        runs["t-int8"] = lambda: tq(xt)
    tb, xb = torch_cls(D, H).eval().to(torch.bfloat16), xt.to(torch.bfloat16)
    tb.load_state_dict({k: v.to(torch.bfloat16) for k, v in t.state_dict().items()})
    runs["t-bf16"] = lambda: tb(xb)
    return runs, m, x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cells", default="lstm,gru,rnn")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--ours-only", action="store_true", help="time our fp32 / int8 / bf16 only (no torch)")
    args = parser.parse_args()

    import contextlib

    torch = None
    if not args.ours_only:
        import torch

    from lstm_energy import GRU, LSTM, RNN
    from lstm_energy.kernels import isa
    from lstm_energy.kernels.lowp import product_path
    from lstm_energy.measure.threads import pinned_threads

    nn = getattr(torch, "nn", None)
    classes = {
        "lstm": (LSTM, getattr(nn, "LSTM", None)),
        "gru": (GRU, getattr(nn, "GRU", None)),
        "rnn": (RNN, getattr(nn, "RNN", None)),
    }
    peer = f"torch {torch.__version__}" if torch is not None else "no torch (--ours-only)"
    print(f"CPU: {cpu_name()}; {platform.machine()}; isa path {isa.current()}, int8 {product_path('int8')}, "
          f"bf16 {product_path('bf16')}; {peer}; 1 thread; median of {args.rounds} interleaved")  # fmt: skip
    head = (
        "cell  shape  fp32ms  int8ms  bf16ms  fp32/int8  fp32/bf16  t-int8/int8  t-bf16/bf16  t-fp32ms  err-int8  err-bf16"
        "  amx-int8  amx-bf16"
    )
    print(head)
    with pinned_threads(1, torch_too=torch is not None):
        for cell in args.cells.split(","):
            ours_cls, torch_cls = classes[cell]
            for shape in args.shapes.split(","):
                runs, m, x = _runs(torch, ours_cls, torch_cls, cell, shape)
                times = {k: [] for k in runs}
                with torch.inference_mode() if torch is not None else contextlib.nullcontext():
                    for f in runs.values():
                        f()
                    for _ in range(args.rounds):
                        for k, f in runs.items():
                            t0 = time.perf_counter()
                            f()
                            times[k].append(time.perf_counter() - t0)
                med = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
                y32 = m.eval(precision="fp32")(x)[0]
                err = {
                    p: np.linalg.norm(m.eval(precision=p)(x)[0] - y32) / np.linalg.norm(y32) for p in ("int8", "bf16")
                }
                ti8 = f"{med['t-int8'] / med['int8']:.2f}" if "t-int8" in med else "n/a"
                tb16 = f"{med['t-bf16'] / med['bf16']:.2f}" if "t-bf16" in med else "n/a"
                tf32 = f"{med['t-fp32']:.2f}" if "t-fp32" in med else "n/a"
                amx = {
                    p: f"{med[p + '-noamx'] / med[p]:.2f}" if p + "-noamx" in med else "n/a" for p in ("int8", "bf16")
                }
                print(f"{cell:5} {shape:6} {med['fp32']:7.2f} {med['int8']:7.2f} {med['bf16']:7.2f} "
                      f"{med['fp32'] / med['int8']:9.2f} {med['fp32'] / med['bf16']:10.2f} {ti8:>12} "
                      f"{tb16:>12} {tf32:>9} {err['int8']:9.2e} {err['bf16']:9.2e} {amx['int8']:>9} {amx['bf16']:>9}",
                      flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
