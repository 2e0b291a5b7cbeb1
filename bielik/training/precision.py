"""Whether to train in bf16 here: measured once per machine, never assumed.

On a GPU with bf16 support, and on CPUs with bf16 matrix instructions (AVX512-BF16, AMX), bf16 autocast trains
faster than fp32; on a CPU without them (AVX2 only: most laptops and many CI runners) torch emulates it and a
bf16 matrix multiply runs about a hundred times slower. The probe times one fp32 and one bf16 matrix multiply of
the size the tiny models use (a second or two), and the answer is kept in the run folder with the CPU's name,
so every chapter of the run reuses it and another machine measures again.
"""
from __future__ import annotations

import platform
import time
from pathlib import Path

import torch

from bielik.training.throughput import matmul_peak_flops

RECORD = "precision.json"  # in runs/<scale>/
AUTO = "auto"


def machine_key() -> dict:
    """What the answer depends on: the processor (or GPU) and torch."""
    from bielik.book.provenance import machine

    m = machine()
    return {"cpu": m.get("cpu") or platform.processor() or platform.machine(), "gpu": m.get("gpu"),
            "torch": torch.__version__}


def probe() -> dict:
    """Measure: {"bf16": bool, "fp32_gflops", "bf16_gflops", "seconds", "why"} for this machine."""
    start = time.perf_counter()
    if torch.cuda.is_available():
        ok = torch.cuda.is_bf16_supported()
        fp32 = matmul_peak_flops(torch.float32, 2048, device="cuda")
        bf16 = matmul_peak_flops(torch.bfloat16, 2048, device="cuda") if ok else 0.0
        why = f"the GPU {'supports' if ok else 'lacks'} bf16"
    else:
        # 512: the width of the tiny models; two bf16 products a round, since emulated bf16 takes ~0.2 s each
        fp32, bf16 = matmul_peak_flops(torch.float32, 512), matmul_peak_flops(torch.bfloat16, 512, repeats=2)
        ok = bf16 > fp32
        why = f"bf16 matmul {bf16 / 1e9:.1f} against fp32 {fp32 / 1e9:.1f} GFLOP/s"
    return {"bf16": bool(ok), "fp32_gflops": round(fp32 / 1e9, 2), "bf16_gflops": round(bf16 / 1e9, 2),
            "seconds": round(time.perf_counter() - start, 2), "why": why}


def measured(run: Path) -> dict:
    """This machine's answer, from run/precision.json when it was measured on the same machine, else measured
    now and kept there. Adds "machine" (the key) and "reused" (whether it came from the file)."""
    from bielik.book.artifacts import read_json, write_json

    path, key = Path(run) / RECORD, machine_key()
    if path.exists():
        kept = read_json(path)
        if kept.get("machine") == key:
            return {**kept, "reused": True}
    result = {**probe(), "machine": key}
    write_json(path, result)
    return {**result, "reused": False}


def use_bf16(setting, run: Path) -> bool:
    """A chapter's `bf16` parameter as a decision: True or False as given, "auto" as measured on this machine."""
    if setting == AUTO:
        return measured(run)["bf16"]
    if isinstance(setting, bool):
        return setting
    raise ValueError(f"bf16 must be true, false or {AUTO!r}, not {setting!r}")
