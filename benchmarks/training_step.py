"""Where does a training step at `tiny` spend its time? (python benchmarks/training_step.py [--steps N] [--json FILE])

Chapter 04's up-scaled model at `tiny` (14 layers, hidden 256, vocabulary 8,000, context 256, batch 8) on random
token documents of 40-400 tokens packed into rows, as chapter 04 packs them. It times, one part at a time (median
of N steps, after a warm-up):
  - collation: stacking the rows, the labels and the block-diagonal 4D mask (PackedCollator);
  - forward and backward with that mask, and with no mask (causal attention only: what the mask costs);
  - gradient clipping and the AdamW step;
then runs transformers' Trainer (bielik.pretrain.trainer.train, as chapter 04 does) for N steps with no held-out
evaluation and no checkpoints, and prints its tokens/s beside the sum of the parts, its MFU against this CPU's
measured fp32 matmul rate, and cProfile's top entries for the Trainer run. Other work on the machine slows
every figure: the load average is printed.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import tempfile
import time

import torch

from bielik.model.architecture import mistral_config, new_model
from bielik.pretrain import trainer
from bielik.training import arguments, packing, throughput


def rows_for(n_rows: int, context: int, vocab: int, seed: int = 0) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    docs, total = [], 0
    while total < n_rows * context:
        n = int(torch.randint(40, 400, (1,), generator=g))
        docs.append(torch.randint(3, vocab, (n,), generator=g).tolist())
        total += n
    return packing.pack(docs, context)[:n_rows]


def median_time(fn, steps: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--layers", type=int, default=14)
    p.add_argument("--json")
    a = p.parse_args()
    torch.manual_seed(0)
    context, batch, vocab = 256, 8, 8000
    cfg = mistral_config(vocab, 256, 768, a.layers, 8, 2, context)
    model = new_model(cfg).train()
    rows = rows_for(batch * (a.steps + 2), context, vocab)
    collate = packing.PackedCollator()
    b = collate(rows[:batch])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    tokens = batch * context
    n_params = sum(p.numel() for p in model.parameters()) - model.model.embed_tokens.weight.numel()
    flops = throughput.flops_per_token(n_params, cfg.num_hidden_layers, cfg.hidden_size, context)
    peak = throughput.matmul_peak_flops(torch.float32)

    def fwd_bwd(mask):
        model.zero_grad(set_to_none=True)
        kw = {k: v for k, v in b.items() if k != "attention_mask"}
        model(**kw, attention_mask=mask).loss.backward()

    def fwd(mask):
        with torch.no_grad():
            model(**{k: v for k, v in b.items() if k != "attention_mask"}, attention_mask=mask)

    parts = {
        "collate (rows -> batch, 4D mask)": median_time(lambda: collate(rows[:batch]), a.steps),
        "  of which the 4D mask": median_time(lambda: packing.block_causal_mask(
            torch.tensor([r["segments"] for r in rows[:batch]])), a.steps),
        "forward, 4D mask": median_time(lambda: fwd(b["attention_mask"]), a.steps),
        "forward, causal only": median_time(lambda: fwd(None), a.steps),
        "forward + backward, 4D mask": median_time(lambda: fwd_bwd(b["attention_mask"]), a.steps),
        "forward + backward, causal only": median_time(lambda: fwd_bwd(None), a.steps),
        "clip_grad_norm_": median_time(lambda: torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0), a.steps),
        "AdamW step": median_time(opt.step, a.steps),
    }
    step_sum = (parts["collate (rows -> batch, 4D mask)"] + parts["forward + backward, 4D mask"]
                + parts["clip_grad_norm_"] + parts["AdamW step"])

    with tempfile.TemporaryDirectory() as out:
        args = arguments.training_arguments(out, max_steps=a.steps, lr=1e-4, min_lr_ratio=0.45, warmup_steps=1,
                                            batch_size=batch, logging_steps=max(1, a.steps // 5))
        fresh = new_model(cfg)
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        trainer.train(fresh, rows, args)
        prof.disable()
        trainer_s = time.perf_counter() - t0
    listing = io.StringIO()
    pstats.Stats(prof, stream=listing).sort_stats("tottime").print_stats(15)

    print(f"load average {os.getloadavg()[0]:.2f}; torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"{n_params / 1e6:.1f}M parameters without the embedding, {flops / 1e6:.1f} MFLOP per token; "
          f"fp32 matmul {peak / 1e9:.1f} GFLOP/s")
    for name, s in parts.items():
        print(f"  {name:<34} {s * 1e3:8.1f} ms")
    print(f"  {'one step, the sum of the parts':<34} {step_sum * 1e3:8.1f} ms  "
          f"-> {tokens / step_sum:,.0f} tokens/s, MFU {tokens / step_sum * flops / peak:.1%}")
    trainer_tps = a.steps * tokens / trainer_s
    print(f"  {'Trainer, ' + str(a.steps) + ' steps':<34} {trainer_s / a.steps * 1e3:8.1f} ms/step "
          f"-> {trainer_tps:,.0f} tokens/s, MFU {trainer_tps * flops / peak:.1%} (start-up included)")
    print("cProfile of the Trainer run, by own time:")
    print("\n".join(listing.getvalue().splitlines()[:40]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"parts_ms": {k: v * 1e3 for k, v in parts.items()}, "trainer_tokens_per_s": trainer_tps,
                       "step_sum_tokens_per_s": tokens / step_sum, "peak_gflops": peak / 1e9,
                       "mfu_trainer": trainer_tps * flops / peak}, f, indent=1)


if __name__ == "__main__":
    main()
