"""A few steps of each training stage (chapter 04's Trainer, 05's WICEL + ALR, 06's DPO-P) on one global batch,
run once in one process and once under `torchrun --nproc_per_node 2` (gloo on the CPU) by test_distributed.py.

    python tests/ddp_worker.py STAGES TOKENIZER_DIR OUT_DIR GLOBAL_BATCH    (STAGES: pretrain,sft,dpo)

Each process takes GLOBAL_BATCH / world size rows per step, as a data-parallel job does; rank 0 writes each
stage's logged losses (and SFT's per-step ALR figures) to OUT_DIR/losses.json. The stages share one process
group, so the test pays the start-up of torch and of the group once.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
STEPS = 3


def _model(tok, seed: int = 0):
    from bielik.model.architecture import mistral_config, new_model

    vocab = len(tok) + (-len(tok)) % 128
    return new_model(mistral_config(vocab, 256, 256, 1, 4, 2, 64), seed=seed)


def _texts() -> list[str]:
    return (ROOT / "data" / "poleval2021_quiz_qa" / "test-A" / "in.tsv").read_text(encoding="utf-8").splitlines()


def pretrain(tok, out: Path, per_device: int) -> dict:
    from bielik.pretrain import mixture, trainer
    from bielik.training.arguments import training_arguments

    rows, _ = mixture.mix(tok, {"Polish": _texts()}, {"Polish": 1.0}, 64 * 64, 64, seed=0)
    args = training_arguments(out / "run", max_steps=STEPS, lr=3e-3, min_lr_ratio=0.1, warmup_steps=1,
                              batch_size=per_device, logging_steps=1)
    t = trainer.train(_model(tok), rows, args)
    return {"loss": [h["loss"] for h in t.state.log_history if "loss" in h]}


def sft(tok, out: Path, per_device: int) -> dict:
    from bielik.posttrain import sft as sft_

    examples = [{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": f"Odpowiedź {i}."}],
                 "weight": 1.0 if i % 3 else 0.5, "source": "quiz", "tier": "x"}
                for i, q in enumerate(_texts()[:400])]  # enough for three full steps
    encoded, _ = sft_.encode_all(tok, examples, 64)
    rows = sft_.pack(encoded, 64, tok.pad_token_id)
    args = sft_.sft_config(out / "run", lr=3e-3, min_lr_ratio=0.1, warmup_steps=1, epochs=1, batch_size=per_device,
                           grad_accum=2, max_steps=STEPS)
    model = _model(tok)
    model.config.pad_token_id = tok.pad_token_id
    t = sft_.train(model, tok, rows, args, weighting="weights", alr=True)
    return {"loss": [h["loss"] for h in t.state.log_history if "loss" in h],
            "alr_scale": [s["alr_scale"] for s in t.step_log], "loss_tokens": [s["loss_tokens"] for s in t.step_log]}


def dpo(tok, out: Path, per_device: int) -> dict:
    from bielik.posttrain import dpo as dpo_

    qs = _texts()[:48]  # trl drops a pair whose prompt leaves no room for a response; 3 full steps remain
    pairs = [{"prompt": [{"role": "user", "content": q}],
              "chosen": [{"role": "assistant", "content": f"Tak, {i}."}],
              "rejected": [{"role": "assistant", "content": f"Nie wiem {i + 1}."}]} for i, q in enumerate(qs)]
    args = dpo_.dpo_config(out / "run", lr=1e-3, warmup_steps=0, max_steps=STEPS, batch_size=per_device,
                           max_length=64, gradient_checkpointing=False)
    # a reference other than the starting policy: with the policy as its own reference, DPO-P's hinge
    # max(0, ref - policy) starts at 0 and its side is decided by rounding, which differs with the batch's padding
    t = dpo_.train(_model(tok), _model(tok, seed=1), tok, pairs, args, lam=2.5, placement="inside")
    return {"loss": [h["loss"] for h in t.state.log_history if "loss" in h]}


def main(stages: str, tok_dir: str, out_dir: str, global_batch: str) -> None:
    from transformers import AutoTokenizer

    torch.set_num_threads(1)  # two processes on two cores
    world = int(os.environ.get("WORLD_SIZE", "1"))
    per_device, rest = divmod(int(global_batch), world)
    if rest:
        raise SystemExit(f"GLOBAL_BATCH {global_batch} does not split over {world} processes")
    tok = AutoTokenizer.from_pretrained(tok_dir)
    runs = {"pretrain": pretrain, "sft": sft, "dpo": dpo}
    result = {stage: runs[stage](tok, Path(out_dir) / stage, per_device) for stage in stages.split(",")}
    if int(os.environ.get("RANK", "0")) == 0:
        (Path(out_dir) / "losses.json").write_text(json.dumps({"world_size": world, **result}))


if __name__ == "__main__":
    main(*sys.argv[1:])
