"""The base model: Mistral-7B-v0.2 at `full`, a scaled-down MistralForCausalLM of the same design below it.

Same design means grouped-query attention, SwiGLU, RMSNorm, RoPE with theta 1e6, no sliding window and an
untied output layer. Widths stay multiples of 256, which llama.cpp's K-quants need (chapter 08); `rows_off` says
which layers of another model (SmolLM2's, at small) a quantizer's block does not divide.
"""
from __future__ import annotations

from bielik.report import paper


def mistral_config(vocab_size: int, hidden: int, intermediate: int, layers: int, heads: int, kv_heads: int,
                   context: int):
    from transformers import MistralConfig

    if hidden % 256 or intermediate % 256:
        raise ValueError(f"hidden ({hidden}) and intermediate ({intermediate}) sizes must be multiples of 256 "
                         f"for llama.cpp's K-quants")
    return MistralConfig(
        vocab_size=vocab_size, hidden_size=hidden, intermediate_size=intermediate, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=kv_heads, head_dim=hidden // heads,
        max_position_embeddings=context, rope_theta=paper.MISTRAL_7B_V02["rope_theta"], sliding_window=None,
        hidden_act="silu", rms_norm_eps=1e-5, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2,
    )


def full_config(layers: int | None = None, vocab_size: int | None = None):
    """Mistral-7B-v0.2's configuration from the report's table, optionally deeper or with a larger vocabulary."""
    a = paper.MISTRAL_7B_V02
    return mistral_config(vocab_size or a["vocab_size"], a["hidden_size"], a["intermediate_size"],
                          layers or a["num_hidden_layers"], a["num_attention_heads"], a["num_key_value_heads"],
                          a["max_position_embeddings"])


def new_model(config, seed: int = 0):
    """A randomly initialised causal LM of `config`'s architecture (Mistral for our stand-in, Llama for SmolLM2):
    the from-scratch control of chapter 04 has the up-scaled model's shape, whatever its base."""
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    return AutoModelForCausalLM.from_config(config, dtype=torch.float32)  # fp32 weights, as load_model's


# Bytes per parameter for training in mixed precision with AdamW (ZeRO paper, Rajbhandari et al. 2020, §3.1):
# bf16 weights 2 + bf16 gradients 2 + the fp32 master copy 4 + Adam's two fp32 moments 8. Activations come on top
# and depend on the batch, the context and checkpointing.
TRAINING_BYTES_PER_PARAMETER = 2 + 2 + 4 + 8


def memory_gb(parameters: int) -> dict[str, float]:
    """What a model of `parameters` takes: its bf16 weights, and weights, gradients and AdamW state in training."""
    return {"bf16 weights (GB)": parameters * 2 / 1e9,
            "training state, bf16 + AdamW (GB)": parameters * TRAINING_BYTES_PER_PARAMETER / 1e9}


def linear_layers(model) -> dict[str, object]:
    """The decoder's linear layers by name, the output head left out (quantizers keep it at 16 bits)."""
    import torch

    head = model.get_output_embeddings()
    return {name: m for name, m in model.named_modules() if isinstance(m, torch.nn.Linear) and m is not head}


def rows_off(model, block: int) -> dict[str, int]:
    """{layer name: row length} of the decoder's linear layers whose rows (input columns) `block` does not divide:
    what a quantizer storing `block` weights per scale cannot take (K-quants: 256; GPTQ: its group size)."""
    return {name: m.in_features for name, m in linear_layers(model).items() if m.in_features % block}
