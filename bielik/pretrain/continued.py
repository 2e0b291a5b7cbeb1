"""Continued pretraining of the up-scaled model (chapter 04), as one function the chapter and the cluster
job share: `run(...)` trains a model on a token mix with checkpoints, resuming from the last complete one.

On a cluster the same function runs under `accelerate launch` with FSDP (bielik/launch/): 
    bielik pretrain --scale full --run-dir runs/full   (python -m bielik pretrain ... under accelerate)
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from bielik.pretrain import mixture, trainer
from bielik.training import arguments, checkpoints, curves, device


def run(model, tok, sources: dict[str, list[str]], shares: dict[str, float], params, out_dir, heldout: dict,
        bf16: bool, seed: int = 0, steps: int | None = None) -> dict:
    """Train `model` on a mix of `sources` for `steps` optimiser steps (default params.steps); checkpoints in
    out_dir/checkpoints.

    Returns the mix table, the training-loss history, the held-out history, where the wall time went (the
    optimiser steps, the held-out measurements, the checkpoint saves) and the steps' throughput.
    """
    out_dir, steps, tokens_per_step = Path(out_dir), steps or params.steps, _tokens_per_step(params)
    rows, table = mixture.mix(tok, sources, shares, steps * tokens_per_step, params.context, seed=seed)
    args = arguments.training_arguments(
        out_dir / "checkpoints", max_steps=steps, lr=params.lr, min_lr_ratio=params.min_lr_ratio,
        warmup_steps=params.warmup, batch_size=params.batch_size, grad_accum=params.grad_accum, bf16=bf16,
        seed=seed, logging_steps=max(1, steps // 30), save_steps=params.save_every,
        gradient_checkpointing=device.needs_checkpointing(model, params.batch_size, params.context))
    watch = curves.heldout_callback(heldout, params.eval_every, tokens_per_step, batch_size=params.batch_size)
    shape = checkpoints.run_parameters(args, data=checkpoints.fingerprint([r["input_ids"] for r in rows]),
                                       model=checkpoints.fingerprint(model.config.to_dict()))
    resume = checkpoints.resume_point(out_dir / "checkpoints", shape)
    t0 = time.perf_counter()
    trained = trainer.train(model, rows, args, resume=resume, callbacks=[watch])
    seconds = time.perf_counter() - t0
    shutil.rmtree(out_dir / "checkpoints", ignore_errors=True)  # finished: a rerun starts afresh, not from here
    trained_steps = steps - (int(Path(resume).name.split("-")[1]) if resume else 0)
    steps_s = seconds - watch.seconds - trained.save_seconds  # start-up and logging stay in: they are the Trainer's
    return {"table": table, "history": [h for h in trained.state.log_history if "loss" in h],
            "heldout": watch.curve, "seconds": seconds, "resumed_from": resume,
            "time": {"optimiser steps": steps_s, "held-out loss": watch.seconds, "checkpoints": trained.save_seconds},
            "tokens_per_s": trained_steps * tokens_per_step / steps_s if steps_s > 0 else float("nan")}


def _tokens_per_step(params) -> int:
    """Tokens of one optimizer step over every process of the job (one in the notebook)."""
    return params.batch_size * params.grad_accum * arguments.processes() * params.context


def scratch_budget(params, model, base_model, base_tokens: int | None) -> tuple[int, float | None]:
    """The from-scratch control's optimiser steps for `params.scratch_budget`, and the share of the up-scaled
    model's total compute (its base's pretraining, `base_tokens` on `base_model`, plus this chapter's run) that
    those steps spend (None for a base whose pretraining is not ours to count): "tokens" trains the main run's
    steps, "compute" as many as that total compute buys."""
    from bielik.training import throughput

    if params.scratch_budget not in ("tokens", "compute"):
        raise ValueError(f"the parameter scratch_budget must be tokens or compute (got {params.scratch_budget!r})")
    per_step, flops = _tokens_per_step(params), throughput.model_flops_per_token(model, params.context)
    if not base_tokens:
        if params.scratch_budget == "compute":
            raise ValueError("scratch_budget compute needs the base's pretraining tokens, which chapter 03 records "
                             "only for a base it trained; with a base from the hub use -p scratch_budget tokens")
        return params.steps, None
    base_flops = throughput.model_flops_per_token(base_model, params.context)
    steps = params.steps if params.scratch_budget == "tokens" else \
        throughput.equal_compute_steps(params.steps, per_step, base_tokens, base_flops, flops)
    return steps, steps * per_step * flops / (base_tokens * base_flops + params.steps * per_step * flops)


def token_shares(polish_share: float, instruction_share: float) -> dict[str, float]:
    """The token shares of the mix: Polish and instructions as asked, English the rest (none at all when the two
    fill the budget, as `-p polish_share 0.95` with 5% instructions does)."""
    english = round(1 - polish_share - instruction_share, 9)  # 1 - 0.95 - 0.05 is 4e-17 in floats, not 0
    if english < 0 or min(polish_share, instruction_share) < 0:
        raise ValueError(f"polish_share {polish_share} and instruction_share {instruction_share} must be shares "
                         f"that add up to at most 1 (English takes the rest)")
    return {"Polish": polish_share, "English": english, "Instructions": instruction_share}


def inputs(ch, tok) -> tuple[dict[str, list[str]], dict[str, float], dict[str, list[dict]]]:
    """The chapter's training sources, their token shares and the held-out rows, from chapters 01 and 02's
    artifacts and the PolEval quiz instructions (dev-0; test-A stays held out for evaluation)."""
    from bielik.book.paths import repo_root
    from bielik.data import instructions

    P = ch.params
    quiz = instructions.quiz_qa(repo_root() / "data" / "poleval2021_quiz_qa", "dev-0")
    filtered, english = ch.require("01", "filtered.parquet"), ch.require("01", "english.parquet")
    sources = {"Polish": mixture.read_texts(filtered, "train", ch.seed),
               "English": mixture.read_texts(english, "train", ch.seed),
               "Instructions": instructions.render(tok, quiz)}
    shares = token_shares(P.polish_share, P.instruction_share)
    heldout = {lang: mixture.heldout_rows(tok, mixture.read_texts(path, "heldout", ch.seed), P.context, P.heldout_rows)
               for lang, path in (("Polish", filtered), ("English", english))}
    return sources, shares, heldout


def main(scale: str = "full", run_dir=None) -> None:
    """The cluster entry point (`bielik pretrain`): the chapter's main run, with the scale's presets, as a job."""
    import torch
    from transformers import AutoTokenizer

    from bielik.book.artifacts import write_json
    from bielik.book.session import start
    from bielik.model import storage

    ch = start("04", scale=scale, run_dir=run_dir)
    tok = AutoTokenizer.from_pretrained(ch.require("02", "tokenizer"))
    model = storage.load_model(ch.require("03", "upscaled"), dtype=torch.bfloat16 if ch.params.bf16 is True else None)
    sources, shares, heldout = inputs(ch, tok)
    result = run(model, tok, sources, shares, ch.params, ch.dir / "upscaled", heldout, bf16=ch.params.bf16 is True,
                 seed=ch.seed)
    storage.save_model(model, ch.dir / "model", tokenizer=tok)
    write_json(ch.dir / "upscaled" / "result.json", {k: v for k, v in result.items() if k != "table"})

