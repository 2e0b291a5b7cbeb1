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


def run_passthrough(config: dict, out_dir, tokenizer=None) -> dict:
    """Run the merge in a child process (so its peak memory is its own) and write the model atomically,
    with `tokenizer` saved beside it.

    Returns {"seconds", "peak_rss_mb"} measured inside the child.
    """
    import json
    import os
    import subprocess
    import sys

    from bielik.artifacts import atomic_path

    with atomic_path(out_dir, is_dir=True) as tmp:
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}  # a mistyped local path must not become a download
        proc = subprocess.run([sys.executable, "-m", "bielik.upscale", json.dumps(config), str(tmp)],
                              capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"mergekit passthrough failed:\n{proc.stderr[-3000:]}")
        if tokenizer is not None:
            from bielik.tokenizer import save_tokenizer
            save_tokenizer(tokenizer, tmp)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _merge_main(config_json: str, out: str) -> None:
    import json
    import resource
    import time

    from mergekit.config import MergeConfiguration
    from mergekit.merge import MergeOptions, run_merge

    t0 = time.perf_counter()
    run_merge(MergeConfiguration.model_validate(json.loads(config_json)), out_path=out,
              options=MergeOptions(device="cpu", copy_tokenizer=False, clone_tensors=True, lazy_unpickle=False,
                                   quiet=True))
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports kB
    print(json.dumps({"seconds": round(seconds, 2), "peak_rss_mb": round(peak_mb, 1)}))


if __name__ == "__main__":
    import sys

    _merge_main(sys.argv[1], sys.argv[2])
