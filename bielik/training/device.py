"""The one device the book computes on: the first GPU where torch sees one, else the CPU.

transformers' Trainer (through accelerate) puts the model it trains on that device by itself; everything else
that runs a model (held-out losses, the harness, timing probes) follows the model's own device, so code that
works on the CPU works on the GPU unchanged. Evaluation on a GPU runs in bf16 where the GPU supports it, as the
leaderboard's harness does; training keeps fp32 weights under bf16 autocast (bielik.training.precision decides).
"""
from __future__ import annotations

import torch


def default() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def name(device: torch.device | None = None) -> str:
    """The device in words: the GPU's name, or "CPU"."""
    device = device or default()
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"


def inference_dtype(device: torch.device | None = None) -> torch.dtype:
    device = device or default()
    return torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else torch.float32


def for_inference(model):
    """The model on the default device, in bf16 there if the GPU supports it (on the CPU untouched: fp32)."""
    device = default()
    if device.type == "cpu":
        return model
    return model.to(device=device, dtype=inference_dtype(device))


def to(batch: dict, device) -> dict:
    """A collated batch's tensors on `device` (the model's: `model.device`)."""
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def synchronize(device) -> None:
    """Wait for queued GPU work, so that a timer measures it (nothing to wait for on the CPU)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak_memory() -> None:
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def peak_memory_gb() -> float | None:
    """The most GPU memory torch held since the last reset, in GB (None on the CPU)."""
    return torch.cuda.max_memory_allocated() / 1e9 if torch.cuda.is_available() else None


def activation_bytes(model, batch_size: int, context: int, fused_attention: bool = True) -> float:
    """Activations a training step keeps for the backward pass, in 16-bit: s b h (34 + 5 a s / h) bytes per layer
    (Korthikanti et al. 2022, eq. 1: sequence s, batch b, hidden h, heads a), plus the logits in fp32. A fused
    attention kernel (SDPA's flash and memory-efficient kernels on a GPU, transformers' default) keeps no a s^2
    scores, which drops the 5 a s / h term."""
    c = model.config
    s, b, h, a = context, batch_size, c.hidden_size, c.num_attention_heads
    per_token = 34 + (0 if fused_attention else 5 * a * s / h)
    return c.num_hidden_layers * s * b * h * per_token + 4 * s * b * c.vocab_size


def needs_checkpointing(model, batch_size: int, context: int, total_bytes: float | None = None) -> bool:
    """Gradient checkpointing (recompute activations in the backward pass, about a third more compute) where the
    weights, gradients and AdamW states (16 bytes a parameter) and the activations would not fit in 90% of the
    GPU's memory; never on the CPU, whose memory the run's own scale was chosen to fit."""
    if total_bytes is None:
        if not torch.cuda.is_available():
            return False
        total_bytes = torch.cuda.get_device_properties(0).total_memory
    state = 16 * sum(p.numel() for p in model.parameters())
    return state + activation_bytes(model, batch_size, context) > 0.9 * total_bytes
