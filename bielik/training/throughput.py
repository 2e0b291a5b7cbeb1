"""How fast training runs: the machine's measured matmul rate, the FLOPs of a token, and timed optimiser steps,
from which the chapters report tokens/s and MFU.
"""
from __future__ import annotations

import math
import time

import torch

from bielik.training import device
from bielik.training.packing import PackedCollator


def matmul_peak_flops(dtype=torch.float32, size: int = 1024, repeats: int = 20, device: str = "cpu") -> float:
    """This machine's measured matrix-multiply rate (FLOP/s), the denominator of model FLOPs utilisation: the best
    of three rounds of `repeats` products of two `size` x `size` matrices."""
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(repeats):
            a @ b
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return 2 * size ** 3 * repeats / best


def machine_peak_flops(bf16: bool) -> float:
    """The matmul rate MFU is measured against, on the device training runs on: bf16 or fp32 products of the size
    that fills it (1,024 on a CPU, 8,192 on a GPU's tensor cores)."""
    dev = device.default()
    dtype = torch.bfloat16 if bf16 else torch.float32
    if dev.type == "cuda":
        return matmul_peak_flops(dtype, 8192, repeats=10, device="cuda")
    return matmul_peak_flops(dtype)


def flops_per_token(n_params: int, layers: int, hidden: int, context: int) -> float:
    """Training FLOPs per token: 6N for the weights plus 12 L h T for attention scores (Kaplan/PaLM)."""
    return 6 * n_params + 12 * layers * hidden * context


def model_flops_per_token(model, context: int) -> float:
    """`flops_per_token` of a transformers model at `context`: the input embedding is a lookup and costs no FLOPs,
    every other weight (the output projection included) counts in 6N, as chapter 04's MFU counts them. With tied
    embeddings (SmolLM2) the one matrix is both, and its output-projection use counts."""
    n = sum(p.numel() for p in model.parameters())
    if model.get_output_embeddings() is None or (model.get_output_embeddings().weight is not
                                                  model.get_input_embeddings().weight):
        n -= model.get_input_embeddings().weight.numel()
    return flops_per_token(n, model.config.num_hidden_layers, model.config.hidden_size, context)


# NVIDIA's H100 SXM datasheet: 989 TFLOP/s dense bf16 tensor-core rate (1,979 with 2:4 sparsity, which training does
# not use). An MFU of 40% is what well-tuned large-model training reports on such GPUs (PaLM: 46% on TPU v4;
# Llama 3: 38-43% on H100); it is a stated assumption, not a measurement of this book.
H100_BF16_FLOPS = 989e12
ASSUMED_MFU = 0.40


def gpu_days(flops_per_token_: float, tokens: float, peak: float = H100_BF16_FLOPS, mfu: float = ASSUMED_MFU) -> dict:
    """What `tokens` of training cost on one GPU of `peak` FLOP/s at `mfu`: tokens per second and per day, days."""
    per_s = peak * mfu / flops_per_token_
    return {"tokens/s": per_s, "tokens/day": per_s * 86_400, "GPU-days": tokens / (per_s * 86_400)}


def equal_compute_steps(steps: int, tokens_per_step: int, base_tokens: int, base_flops: float, flops: float) -> int:
    """Optimiser steps that give a model trained from scratch the compute of `steps` steps of continued training
    plus its base's pretraining (`base_tokens` at `base_flops` per token; `flops` per token for the model trained):
    SOLAR's comparison is of total compute, and the base's share of it was spent before continued training."""
    return steps + math.ceil(base_tokens * base_flops / (flops * tokens_per_step))


def time_steps(model, rows: list[dict], batch_size: int, bf16: bool, steps: int = 3) -> float:
    """Tokens per second of a few training steps (forward, backward, AdamW), after one warm-up step."""
    import copy

    m = copy.deepcopy(model).to(device.default()).train()
    opt = torch.optim.AdamW(m.parameters(), lr=1e-5)
    batch = device.to(PackedCollator()(rows[:batch_size]), m.device)
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        with torch.autocast(m.device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = m(**batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        device.synchronize(m.device)
        if i:
            times.append(time.perf_counter() - t0)
    return batch["input_ids"].numel() / min(times)
