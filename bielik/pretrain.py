"""Causal-LM training on packed documents, on transformers' Trainer (chapters 03 and 04).

Documents are packed greedily into full-length rows; inside a row every document sees only itself:
position ids restart at each document and a block-diagonal causal mask (4D, which the model's SDPA
attention takes as given) stops attention across the boundary. The first token of each document is not
a training target, since nothing in its row may predict it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch


def tokenize(tok, texts: list[str]) -> list[list[int]]:
    """Each text as <s> ids </s>."""
    ids = tok(list(texts), add_special_tokens=False)["input_ids"]
    return [[tok.bos_token_id, *x, tok.eos_token_id] for x in ids]


def pack(docs: list[list[int]], seq_len: int) -> list[dict]:
    """Rows of exactly `seq_len` tokens: documents laid end to end, a long one continued in the next row.

    Each row holds input_ids, position_ids (restarting at every document piece) and segments (which
    document piece each token belongs to, numbered within the row). The last partial row is dropped.
    """
    rows, ids, pos, seg = [], [], [], []
    for doc in docs:
        start = 0
        while start < len(doc):
            take = min(len(doc) - start, seq_len - len(ids))
            piece = doc[start:start + take]
            seg_id = (seg[-1] + 1) if seg else 0
            ids += piece
            pos += range(take)
            seg += [seg_id] * take
            start += take
            if len(ids) == seq_len:
                rows.append({"input_ids": ids, "position_ids": pos, "segments": seg})
                ids, pos, seg = [], [], []
    return rows


def block_causal_mask(segments: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
    """(batch, 1, L, L) additive mask: 0 where a token may attend (same segment, not in the future)."""
    same = segments[:, :, None] == segments[:, None, :]
    causal = torch.tril(torch.ones(segments.shape[1], segments.shape[1], dtype=torch.bool))
    allowed = same & causal
    return torch.where(allowed, 0.0, torch.finfo(dtype).min).to(dtype)[:, None]


@dataclass
class PackedCollator:
    """Stacks packed rows into a batch with labels and the block-diagonal mask."""

    def __call__(self, rows: list[dict]) -> dict:
        ids = torch.tensor([r["input_ids"] for r in rows])
        seg = torch.tensor([r["segments"] for r in rows])
        labels = ids.clone()
        first = torch.ones_like(seg, dtype=torch.bool)
        first[:, 1:] = seg[:, 1:] != seg[:, :-1]
        labels[first] = -100  # a document's first token has no context in its row
        return {"input_ids": ids, "position_ids": torch.tensor([r["position_ids"] for r in rows]),
                "attention_mask": block_causal_mask(seg), "labels": labels}


@torch.no_grad()
def mean_loss(model, rows: list[dict], batch_size: int = 8, collate=None) -> float:
    """Mean cross-entropy per target token (nats) over packed rows, in evaluation mode; `collate` makes the
    batches (default: documents packed for pretraining; chapter 05 passes its answer-only SFT collator)."""
    model.eval()
    collate = collate or PackedCollator()
    total, count = 0.0, 0
    for i in range(0, len(rows), batch_size):
        batch = collate(rows[i:i + batch_size])
        logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                       attention_mask=batch["attention_mask"]).logits.float()
        targets = batch["labels"][:, 1:]
        ce = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                               ignore_index=-100, reduction="sum")
        total += ce.item()
        count += (targets != -100).sum().item()
    return total / max(count, 1)


def perplexity(loss: float) -> float:
    return math.exp(loss)


def training_arguments(out_dir, *, max_steps: int, lr: float, min_lr_ratio: float, warmup_steps: int,
                       batch_size: int, grad_accum: int = 1, weight_decay: float = 0.1, bf16: bool = False,
                       seed: int = 0, logging_steps: int = 10, save_steps: int = 0, eval_steps: int = 0):
    """The report's optimiser, scaled: AdamW (0.9, 0.95), warm-up then cosine to `min_lr_ratio` x lr, clip 1.0."""
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(out_dir), max_steps=max_steps, learning_rate=lr, warmup_steps=warmup_steps,
        lr_scheduler_type="cosine_with_min_lr", lr_scheduler_kwargs={"min_lr_rate": min_lr_ratio},
        adam_beta1=0.9, adam_beta2=0.95, weight_decay=weight_decay, max_grad_norm=1.0,
        per_device_train_batch_size=batch_size, per_device_eval_batch_size=batch_size,
        gradient_accumulation_steps=grad_accum, bf16=bf16, use_cpu=not torch.cuda.is_available(), seed=seed,
        data_seed=seed,
        logging_steps=logging_steps, save_strategy="steps" if save_steps else "no", save_steps=save_steps or 500,
        eval_strategy="steps" if eval_steps else "no", eval_steps=eval_steps or None,
        report_to="none", remove_unused_columns=False, dataloader_num_workers=0, disable_tqdm=True,
    )


COMPLETE = "COMPLETE"  # written last into a checkpoint folder: without it the folder is a killed save


class CompleteCheckpoints:
    """Mixin for a transformers Trainer: a checkpoint is marked complete only once everything is on disk."""

    def _save_checkpoint(self, model, trial):
        from pathlib import Path

        super()._save_checkpoint(model, trial)
        folder = Path(self._get_output_dir(trial=trial)) / f"checkpoint-{self.state.global_step}"
        (folder / COMPLETE).write_text(str(self.state.global_step))


def complete_checkpoint_trainer():
    """transformers' Trainer with CompleteCheckpoints."""
    from transformers import Trainer

    return type("CheckpointedTrainer", (CompleteCheckpoints, Trainer), {})


def last_complete_checkpoint(out_dir) -> str | None:
    """The newest checkpoint-N folder that was saved completely; folders of killed saves are removed."""
    import re
    import shutil
    from pathlib import Path

    out_dir = Path(out_dir)
    found = sorted((int(m.group(1)), p) for p in out_dir.glob("checkpoint-*")
                   if p.is_dir() and (m := re.fullmatch(r"checkpoint-(\d+)", p.name)))
    for _, path in reversed(found):
        if (path / COMPLETE).exists():
            return str(path)
        shutil.rmtree(path)  # a half-written checkpoint must never be resumed from
    return None


def train(model, train_rows: list[dict], args, eval_rows: list[dict] | None = None, resume: str | None = None,
          callbacks: list | None = None):
    """Train with transformers' Trainer on packed rows, resuming from `resume` (a checkpoint folder) if given;
    returns the trainer (its log history holds the curve)."""
    import datasets
    from transformers.trainer_callback import PrinterCallback

    to_ds = lambda rows: datasets.Dataset.from_list(rows)  # noqa: E731
    trainer = complete_checkpoint_trainer()(
        model=model, args=args, train_dataset=to_ds(train_rows), eval_dataset=to_ds(eval_rows) if eval_rows else None,
        data_collator=PackedCollator(), callbacks=callbacks)
    trainer.remove_callback(PrinterCallback)  # the curve is in trainer.state.log_history; chapters plot it
    trainer.train(resume_from_checkpoint=resume)
    return trainer


def measure_every(measure, every: int):
    """A TrainerCallback that appends {"step": s, **measure(state, model)} to `callback.curve` before the first
    step (or the step a resumed run starts from), every `every` steps and after the last one. The chapters'
    held-out curves (pretraining loss, SFT answer loss, DPO preference metrics) are all made by it."""
    from transformers import TrainerCallback

    class Measure(TrainerCallback):
        def __init__(self):
            self.curve: list[dict] = []

        def _measure(self, state, model):
            was_training = model.training
            self.curve.append({"step": state.global_step, **measure(state, model)})
            model.train(was_training)

        def on_train_begin(self, args, state, control, model=None, **kw):
            if not self.curve:
                self._measure(state, model)

        def on_step_end(self, args, state, control, model=None, **kw):
            if state.global_step % every == 0 or state.global_step == state.max_steps:
                self._measure(state, model)

    return Measure()


def heldout_callback(rows_by_name: dict[str, list[dict]], every: int, tokens_per_step: int, batch_size: int = 8):
    """The held-out loss of each set of rows every `every` steps, with the tokens seen so far."""
    return measure_every(lambda state, model: {
        "tokens": state.global_step * tokens_per_step,
        **{name: mean_loss(model, rows, batch_size) for name, rows in rows_by_name.items()}}, every)


def matmul_peak_flops(dtype=torch.float32, size: int = 1024, repeats: int = 20) -> float:
    """This CPU's measured matrix-multiply rate (FLOP/s), the denominator of model FLOPs utilisation."""
    import time

    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * size ** 3 * repeats / best


def flops_per_token(n_params: int, layers: int, hidden: int, context: int) -> float:
    """Training FLOPs per token: 6N for the weights plus 12 L h T for attention scores (Kaplan/PaLM)."""
    return 6 * n_params + 12 * layers * hidden * context


def time_steps(model, rows: list[dict], batch_size: int, bf16: bool, steps: int = 3) -> float:
    """Tokens per second of a few training steps (forward, backward, AdamW), after one warm-up step."""
    import copy
    import time

    m = copy.deepcopy(model).train()
    opt = torch.optim.AdamW(m.parameters(), lr=1e-5)
    batch = PackedCollator()(rows[:batch_size])
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = m(**batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        if i:
            times.append(time.perf_counter() - t0)
    return batch["input_ids"].numel() / min(times)


def split_rows(rows: list[dict], n_eval: int, seed: int = 0) -> tuple[list[dict], list[dict]]:
    order = np.random.default_rng(seed).permutation(len(rows))
    return [rows[i] for i in order[n_eval:]], [rows[i] for i in order[:n_eval]]
