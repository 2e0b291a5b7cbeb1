"""Held-out loss, during training and after: the mean cross-entropy of a model on packed rows, perplexity, and a
TrainerCallback that measures it every N steps for the curves the chapters plot (pretraining, SFT, DPO-P).
"""
from __future__ import annotations

import math

import torch

from bielik.training import device
from bielik.training.packing import PackedCollator


@torch.no_grad()
def mean_loss(model, rows: list[dict], batch_size: int = 8, collate=None) -> float:
    """Mean cross-entropy per target token (nats) over packed rows, in evaluation mode; `collate` makes the
    batches (default: documents packed for pretraining; chapter 05 passes its answer-only SFT collator)."""
    sums, counts = _row_sums(model, rows, batch_size, collate)
    return sum(sums) / max(sum(counts), 1)


def row_losses(model, rows: list[dict], batch_size: int = 8, collate=None) -> list[float]:
    """Mean cross-entropy per target token (nats) of each row: the spread of the held-out set itself, from which
    the standard error of a loss, or of a difference of two models on the same rows, follows."""
    sums, counts = _row_sums(model, rows, batch_size, collate)
    return [s / c for s, c in zip(sums, counts) if c]


def paired_se(a: list[float], b: list[float]) -> float:
    """The standard error of mean(a) - mean(b) for two models scored on the same rows: the spread of the per-row
    differences over the square root of their number."""
    d = [x - y for x, y in zip(a, b, strict=True)]
    if len(d) < 2:
        return float("nan")
    mean = sum(d) / len(d)
    return (sum((x - mean) ** 2 for x in d) / (len(d) - 1) / len(d)) ** 0.5


@torch.no_grad()
def _row_sums(model, rows: list[dict], batch_size: int, collate) -> tuple[list[float], list[int]]:
    model.eval()
    collate = collate or PackedCollator()
    sums, counts = [], []
    for i in range(0, len(rows), batch_size):
        batch = device.to(collate(rows[i:i + batch_size]), model.device)  # where the Trainer left the model
        logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                       attention_mask=batch["attention_mask"]).logits.float()
        targets = batch["labels"][:, 1:]
        ce = torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), targets, ignore_index=-100,
                                               reduction="none")
        sums += ce.sum(dim=1).tolist()
        counts += (targets != -100).sum(dim=1).tolist()
    return sums, counts


def unigram_loss(train_rows: list[dict], rows: list[dict], vocab_size: int) -> float:
    """Mean cross-entropy per target token (nats) of a unigram model: each token's frequency in `train_rows`
    (add-one smoothed over `vocab_size`), on the same targets as mean_loss. What a model that knows only which
    tokens are common scores: the floor a trained model must get below to have learned any context."""
    counts = torch.ones(vocab_size, dtype=torch.float64)
    for r in train_rows:
        counts += torch.bincount(torch.tensor(r["input_ids"]), minlength=vocab_size)[:vocab_size].double()
    logp = counts.log() - counts.sum().log()
    labels = PackedCollator()(rows)["labels"][:, 1:]
    targets = labels[labels != -100]
    return float(-logp[targets].mean())


def perplexity(loss: float) -> float:
    return math.exp(loss)


def measure_every(measure, every: int, early: bool = False):
    """A TrainerCallback that appends {"step": s, **measure(state, model)} to `callback.curve` before the first
    step (or the step a resumed run starts from), every `every` steps and after the last one; with `early`, also
    at steps 1, 2, 4, 8, ... below `every`, where a curve moves fastest (how soon an up-scaled model recovers is
    read there). The chapters' held-out curves (pretraining loss, SFT answer loss, DPO preference metrics) are all
    made by it. `callback.seconds` is the time the measurements took: part of the run's wall time, not of its
    steps."""
    import time

    from transformers import TrainerCallback

    class Measure(TrainerCallback):
        def __init__(self):
            self.curve: list[dict] = []
            self.seconds = 0.0

        def _measure(self, state, model):
            t0 = time.perf_counter()
            was_training = model.training
            self.curve.append({"step": state.global_step, **measure(state, model)})
            model.train(was_training)
            self.seconds += time.perf_counter() - t0

        def on_train_begin(self, args, state, control, model=None, **kw):
            if not self.curve:
                self._measure(state, model)

        def on_step_end(self, args, state, control, model=None, **kw):
            step = state.global_step
            doubling = early and step < every and step & (step - 1) == 0
            if step % every == 0 or step == state.max_steps or doubling:
                self._measure(state, model)

    return Measure()


def heldout_callback(rows_by_name: dict[str, list[dict]], every: int, tokens_per_step: int, batch_size: int = 8):
    """The held-out loss of each set of rows at steps 1, 2, 4, ... and then every `every` steps, with the tokens
    seen so far."""
    return measure_every(lambda state, model: {
        "tokens": state.global_step * tokens_per_step,
        **{name: mean_loss(model, rows, batch_size) for name, rows in rows_by_name.items()}}, every, early=True)
