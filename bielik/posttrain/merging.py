"""Model merging through mergekit (chapter 07, and chapter 03's passthrough up-scaling).

The report (§4.5) merges "three models obtained from different phases of the same DPO-P training process" with
equal weights (Model Soups), after trying TIES and Model Stock too. With models theta_1..theta_k:
- linear:       theta = sum_i w_i theta_i / sum_i w_i (equal weights: the plain average);
- TIES:         task vectors tau_i = theta_i - theta_base are trimmed to their largest `density` share by magnitude,
                each parameter's sign is elected by the summed mass, and only the agreeing entries are averaged:
                theta = theta_base + mean_{i: sign(tau_i) = elected}(tau_i);
- Model Stock:  theta = t * mean_i theta_i + (1 - t) * theta_base, per layer, with t = k cos / (1 + (k - 1) cos)
                from the mean cosine between the task vectors: the more they agree, the closer to their average.
Every config here is a mergekit YAML (shown in the chapter); `run` executes it in a child process.
"""
from __future__ import annotations

METHODS = ("linear", "ties", "model_stock")


def merge_config(method: str, models: list, base=None, *, weights: list[float] | None = None,
                 density: float = 0.5, dtype: str = "float32") -> dict:
    """mergekit's configuration for merging `models` (folders); TIES and Model Stock need the `base` they were
    fine-tuned from. Weights default to 1.0 each: with mergekit's normalisation that is the equal-weight average."""
    if method not in METHODS:
        raise ValueError(f"merge method must be one of {', '.join(METHODS)}, not {method!r}")
    if len(models) < 2:
        raise ValueError(f"a merge needs at least two models, got {len(models)}")
    if method != "linear" and base is None:
        raise ValueError(f"{method} merges task vectors against a base model: pass base=...")
    weights = weights or [1.0] * len(models)
    if len(weights) != len(models):
        raise ValueError(f"{len(weights)} weights for {len(models)} models")
    if method == "linear":
        entries = [{"model": str(m), "parameters": {"weight": w}} for m, w in zip(models, weights)]
    elif method == "ties":
        entries = [{"model": str(m), "parameters": {"weight": w, "density": density}} for m, w in zip(models, weights)]
    else:
        entries = [{"model": str(m)} for m in models]
    config = {"merge_method": method, "models": entries, "dtype": dtype}
    if method != "linear":
        config["base_model"] = str(base)
    if method in ("linear", "ties"):
        config["parameters"] = {"normalize": True}
    return config


def config_yaml(config: dict, relative_to=None) -> str:
    """The config as the YAML file mergekit's command line takes, paths shown relative to `relative_to`."""
    import os

    import yaml

    def show(value):
        if isinstance(value, dict):
            return {k: (os.path.relpath(v, relative_to) if k in ("model", "base_model") and relative_to else show(v))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [show(v) for v in value]
        return value

    return yaml.safe_dump(show(config), sort_keys=False, allow_unicode=True)


def run(config: dict, out_dir, tokenizer=None) -> dict:
    """Run a mergekit merge in a child process (so its peak memory is its own) and write the model atomically,
    with `tokenizer` saved beside it. Returns {"seconds", "peak_rss_mb"} measured inside the child."""
    from bielik.book import child_process
    from bielik.book.artifacts import atomic_path

    with atomic_path(out_dir, is_dir=True) as tmp:
        measured = child_process.run("bielik.posttrain.merging:merge_job", {"config": config, "out": str(tmp)},
                                     what=f"mergekit {config.get('merge_method')} merge",
                                     env={"HF_HUB_OFFLINE": "1"})  # a mistyped local path must not download
        if tokenizer is not None:
            from bielik.model.tokenizer import save_tokenizer
            save_tokenizer(tokenizer, tmp)
    return measured


def merge_job(job: dict) -> dict:
    """The child's side of `run`: mergekit's own run_merge on the CPU, timed, with the child's peak memory."""
    import resource
    import time

    from mergekit.config import MergeConfiguration
    from mergekit.merge import MergeOptions, run_merge

    t0 = time.perf_counter()
    run_merge(MergeConfiguration.model_validate(job["config"]), out_path=job["out"],
              options=MergeOptions(device="cpu", copy_tokenizer=False, clone_tensors=True, lazy_unpickle=False,
                                   quiet=True, write_model_card=False))
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports kB
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak_mb, 1)}


def task_vectors(base, models: list) -> list:
    """theta_i - theta_base of each of `models` (folders), all weights in one float64 vector each."""
    import torch

    from bielik.model.storage import load_model

    ref = {k: v.double() for k, v in load_model(base).state_dict().items()}  # float32 sums drift past 1
    taus = []
    for m in models:
        state = load_model(m).state_dict()
        taus.append(torch.cat([(state[k].double() - ref[k]).reshape(-1) for k in ref]))
    return taus


def task_vector_cosines(base, models: list) -> list[list[float]]:
    """Cosine similarity between the task vectors theta_i - theta_base of `models` (folders), over all weights:
    how much the checkpoints agree on the direction they moved. Model Stock's interpolation grows with it.
    A checkpoint equal to the base has no direction: its cosines are 0."""
    import torch

    taus = task_vectors(base, models)
    return [[torch.nn.functional.cosine_similarity(a, b, dim=0).item() for b in taus] for a in taus]


def task_vector_norms(base, models: list) -> list[float]:
    """The L2 norm of each task vector: 0 for a checkpoint that never moved from the base."""
    return [float(t.norm()) for t in task_vectors(base, models)]
