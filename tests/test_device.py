"""The device the book computes on (bielik.training.device): the CPU here, what follows the model's device, and
the memory estimate that turns gradient checkpointing on, checked by hand."""
from types import SimpleNamespace

import pytest
import torch

from bielik.training import device


def test_without_a_gpu_everything_stays_on_the_cpu_in_fp32():
    assert device.default().type == "cpu" and device.name() == "CPU"
    assert device.inference_dtype() is torch.float32
    model = torch.nn.Linear(2, 2)
    assert device.for_inference(model) is model and model.weight.dtype is torch.float32
    assert device.peak_memory_gb() is None
    batch = device.to({"input_ids": torch.ones(1, 3, dtype=torch.long), "note": "kept"}, torch.device("cpu"))
    assert batch["note"] == "kept" and batch["input_ids"].device.type == "cpu"


def _model(layers=2, hidden=64, heads=4, vocab=100, params=1000):
    config = SimpleNamespace(num_hidden_layers=layers, hidden_size=hidden, num_attention_heads=heads, vocab_size=vocab)
    return SimpleNamespace(config=config, parameters=lambda: [torch.zeros(params)])


def test_activation_memory_by_hand():
    # per layer s b h (34 + 5 a s / h) = 8 * 2 * 64 * (34 + 5 * 4 * 8 / 64) = 1024 * 36.5 = 37,376; two layers,
    # plus fp32 logits 4 * 8 * 2 * 100 = 6,400; a fused attention kernel keeps no scores: 1024 * 34 a layer
    m = _model()
    assert device.activation_bytes(m, 2, 8, fused_attention=False) == pytest.approx(2 * 37_376 + 6_400)
    assert device.activation_bytes(m, 2, 8) == pytest.approx(2 * 34_816 + 6_400)


def test_checkpointing_turns_on_only_where_the_step_would_not_fit():
    m = _model()  # 16 B x 1,000 parameters + 76,032 B of activations = 92,032 B
    assert not device.needs_checkpointing(m, 2, 8, total_bytes=105_000)  # 90%: 94,500
    assert device.needs_checkpointing(m, 2, 8, total_bytes=100_000)  # 90,000 < 92,032
    assert not device.needs_checkpointing(m, 2, 8)  # no GPU: never


def test_the_up_scaled_smollm2_step_is_checkpointed_on_a_24_gb_gpu_but_not_on_an_80_gb_one():
    from transformers import LlamaConfig

    config = LlamaConfig(num_hidden_layers=50, hidden_size=960, num_attention_heads=15, vocab_size=49_280)
    m = SimpleNamespace(config=config, parameters=lambda: [torch.zeros(1)])  # activations alone
    gb = device.activation_bytes(m, batch_size=16, context=1024) / 1e9
    assert gb == pytest.approx((50 * 1024 * 16 * 960 * 34 + 4 * 1024 * 16 * 49_280) / 1e9)  # 26.7 + 3.2 GB
    assert device.needs_checkpointing(m, 16, 1024, total_bytes=24e9)
    assert not device.needs_checkpointing(m, 16, 1024, total_bytes=80e9)
