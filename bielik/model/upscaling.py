"""Depth up-scaling arithmetic (SOLAR, Report §2): which source layer each new layer copies, and sizes.

Two copies of an n-layer model; the bottom copy keeps layers [0, n-m), the top copy keeps [m, n);
stacked they give s = 2(n - m) layers. For Bielik: n = 32, m = 7 -> s = 50.
"""
from __future__ import annotations


def layer_map(n: int, m: int) -> list[tuple[int, str, int]]:
    """[(new layer, "bottom" | "top", source layer)] for an n-layer model with m layers removed per copy."""
    if not 0 < m < n:
        raise ValueError(f"need 0 < m < n, got n={n}, m={m}")
    bottom = [("bottom", k) for k in range(0, n - m)]
    top = [("top", k) for k in range(m, n)]
    return [(i, copy, src) for i, (copy, src) in enumerate(bottom + top)]


def mistral_parameter_count(cfg: dict, num_layers: int | None = None, vocab_size: int | None = None) -> int:
    """Parameters of a Mistral-architecture decoder from its config values (no model is built).

    Per layer: q, k, v, o projections (no biases), the SwiGLU MLP (gate, up, down) and two RMSNorms;
    then the embedding, the final norm and the lm_head unless it is tied to the embedding.
    """
    h, inter = cfg["hidden_size"], cfg["intermediate_size"]
    heads, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or h // heads
    layers = num_layers if num_layers is not None else cfg["num_hidden_layers"]
    vocab = vocab_size if vocab_size is not None else cfg["vocab_size"]
    attention = h * heads * hd * 2 + h * kv * hd * 2
    per_layer = attention + 3 * h * inter + 2 * h
    embeddings = vocab * h * (1 if cfg.get("tie_word_embeddings") else 2)
    return per_layer * layers + embeddings + h


def passthrough_config(base: str, n: int, m: int, dtype: str = "float32") -> dict:
    """mergekit's passthrough merge that stacks [0, n-m) of one copy on [m, n) of another (layer_range is half-open)."""
    return {
        "slices": [
            {"sources": [{"model": str(base), "layer_range": [0, n - m]}]},
            {"sources": [{"model": str(base), "layer_range": [m, n]}]},
        ],
        "merge_method": "passthrough",
        "dtype": dtype,
    }
