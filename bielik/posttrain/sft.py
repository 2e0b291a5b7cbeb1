"""Supervised fine-tuning with WICEL and ALR on trl's SFTTrainer (chapter 05).

- Masking: conversations go through the tokenizer's ChatML template; its {% generation %} block marks the
  assistant's answer and its `<|im_end|>\\n` as trained; system and user turns and the `<|im_start|>assistant\\n`
  header are masked (label -100), as in the authors' ALLaMo.
- Packing: whole examples, first-fit decreasing, into rows of `context` tokens, with restarted position ids and a
  block-diagonal mask so examples never attend to each other; the rest of a row is padding.
- WICEL (weighted instruction cross-entropy): every loss token carries its example's quality weight w and
      loss = sum(w_tok * CE_tok) / N,  N = the optimizer step's loss tokens ("tokens", ALLaMo's default)
                                        or the sum of their weights ("weights", OpenChat's C-RLFT style).
- ALR (adaptive learning rate): lr_step = lr_schedule * sqrt(T / BS), T the step's loss tokens, BS its token
  capacity (rows x context x accumulation steps); ALR <= LR, smaller when a step is mostly prompt or padding.

`inputs(ch, tok)` builds the chapter's rows and `run_variant` trains one variant; on a cluster the same two run
under `accelerate launch` (bielik/launch/sft.slurm):
    bielik sft --scale small --variant wicel_alr --run-dir runs/small   (python -m bielik sft ... under accelerate)
"""
from __future__ import annotations

import math

import torch

from bielik.training.packing import block_causal_mask

WEIGHTINGS = ("none", "tokens", "weights")  # plain CE; WICEL / loss tokens; WICEL / sum of weights


def encode(tok, messages: list[dict], weight: float = 1.0) -> dict:
    """input_ids, labels (-100 outside the answers) and per-token weights (w on the answers, 0 elsewhere)."""
    out = tok.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    ids, mask = list(out["input_ids"]), list(out["assistant_masks"])
    if not any(mask):
        raise ValueError("the chat template marked no answer tokens: it needs a {% generation %} block")
    return {"input_ids": ids, "labels": [t if m else -100 for t, m in zip(ids, mask)],
            "weights": [float(weight) if m else 0.0 for m in mask]}


def encode_all(tok, examples: list[dict], context: int) -> tuple[list[dict], list[dict]]:
    """Encode examples; those longer than `context` are dropped (cutting one would train an answer without its
    question). Returns (encoded, dropped examples)."""
    kept, dropped = [], []
    for ex in examples:
        enc = encode(tok, ex["messages"], ex.get("weight", 1.0))
        if len(enc["input_ids"]) > context:
            dropped.append(ex)
        else:
            kept.append({**enc, "source": ex["source"], "tier": ex["tier"]})
    return kept, dropped


def pack(encoded: list[dict], context: int, pad_id: int) -> list[dict]:
    """Rows of exactly `context` tokens holding whole examples (first-fit decreasing), padded at the end.

    Each row: input_ids, labels, weights, position_ids (restarting per example) and segments (example number
    in the row; padding gets its own segment so no real token attends to it)."""
    bins: list[list[dict]] = []
    space: list[int] = []
    for enc in sorted(encoded, key=lambda e: -len(e["input_ids"])):
        n = len(enc["input_ids"])
        if n > context:
            raise ValueError(f"an example of {n} tokens does not fit a row of {context}")
        for i, free in enumerate(space):
            if free >= n:
                bins[i].append(enc)
                space[i] -= n
                break
        else:
            bins.append([enc])
            space.append(context - n)
    rows = []
    for items in bins:
        row = {"input_ids": [], "labels": [], "weights": [], "position_ids": [], "segments": []}
        for seg, enc in enumerate(items):
            n = len(enc["input_ids"])
            for key in ("input_ids", "labels", "weights"):
                row[key] += enc[key]
            row["position_ids"] += range(n)
            row["segments"] += [seg] * n
        pad = context - len(row["input_ids"])
        row["input_ids"] += [pad_id] * pad
        row["labels"] += [-100] * pad
        row["weights"] += [0.0] * pad
        row["position_ids"] += range(pad)
        row["segments"] += [len(items)] * pad
        rows.append(row)
    return rows


class SFTCollator:
    """Stacks packed rows into tensors with the block-diagonal causal mask."""

    def __call__(self, rows: list[dict]) -> dict:
        seg = torch.tensor([r["segments"] for r in rows])
        return {"input_ids": torch.tensor([r["input_ids"] for r in rows]),
                "position_ids": torch.tensor([r["position_ids"] for r in rows]),
                "attention_mask": block_causal_mask(seg),
                "labels": torch.tensor([r["labels"] for r in rows]),
                "weights": torch.tensor([r["weights"] for r in rows], dtype=torch.float32)}


def token_losses(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each next-token prediction, 0 where the label is -100 (shapes [B, L-1])."""
    shift_logits, shift_labels = logits[:, :-1].float(), labels[:, 1:]
    ce = torch.nn.functional.cross_entropy(shift_logits.reshape(-1, shift_logits.shape[-1]), shift_labels.reshape(-1),
                                           ignore_index=-100, reduction="none")
    return ce.view(shift_labels.shape)


def wicel_sum(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor, weighting: str) -> torch.Tensor:
    """The numerator: sum over loss tokens of w_tok x CE_tok (w = 1 for plain cross-entropy)."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}, not {weighting!r}")
    ce = token_losses(logits, labels)
    loss_tokens = labels[:, 1:] != -100
    w = loss_tokens.float() if weighting == "none" else weights[:, 1:] * loss_tokens
    return (w * ce).sum()


def denominator(batches: list[dict], weighting: str) -> float:
    """N of the step: its loss tokens ("none", "tokens") or the sum of their weights ("weights")."""
    if weighting == "weights":
        return float(sum((b["weights"][:, 1:] * (b["labels"][:, 1:] != -100)).sum() for b in batches))
    return float(sum((b["labels"][:, 1:] != -100).sum() for b in batches))


def wicel_loss(logits, labels, weights, weighting: str = "tokens", n: float | None = None) -> torch.Tensor:
    """WICEL of one batch, divided by `n` (the whole optimizer step's N) or by this batch's own N."""
    if n is None:
        n = denominator([{"labels": labels, "weights": weights}], weighting)
    return wicel_sum(logits, labels, weights, weighting) / max(n, 1e-8)


def alr_scale(loss_tokens: float, capacity: float) -> float:
    """sqrt(T / BS): the factor ALR applies to the scheduled learning rate."""
    if capacity <= 0:
        raise ValueError("the step's token capacity must be positive")
    return math.sqrt(loss_tokens / capacity)


def trainer_class():
    """trl's SFTTrainer with WICEL as its loss and ALR applied to each optimizer step."""
    from trl import SFTTrainer

    class WicelSFTTrainer(SFTTrainer):
        def __init__(self, *args, weighting: str = "tokens", alr: bool = False, **kwargs):
            if weighting not in WEIGHTINGS:
                raise ValueError(f"weighting must be one of {', '.join(WEIGHTINGS)}, not {weighting!r}")
            super().__init__(*args, **kwargs)
            self.weighting, self.alr = weighting, alr
            self.model_accepts_loss_kwargs = True  # our loss is already divided by the whole step's N
            self.step_log: list[dict] = []
            self._n = None

        def get_batch_samples(self, epoch_iterator, num_batches, device):
            batches, num_items = super().get_batch_samples(epoch_iterator, num_batches, device)
            if not batches:
                return batches, num_items
            self._n = denominator(batches, self.weighting)
            tokens = denominator(batches, "tokens")
            if self.accelerator.num_processes > 1:  # N and T are the whole step's, over every process's batches
                both = self.accelerator.reduce(torch.tensor([self._n, tokens], device=device), reduction="sum")
                self._n, tokens = (float(x) for x in both)
            # BS is the nominal step, as in ALLaMo: a short last step of an epoch runs at a lower rate
            capacity = (self.args.per_device_train_batch_size * self.args.gradient_accumulation_steps
                        * self.accelerator.num_processes * batches[0]["labels"].shape[1])
            scheduled = self.lr_scheduler.get_last_lr()
            scale = alr_scale(tokens, capacity) if self.alr else 1.0
            for group, lr in zip(self.optimizer.param_groups, scheduled):
                group["lr"] = lr * scale  # the scheduler's next step() sets the plain schedule again
            self.step_log.append({"step": self.state.global_step + 1, "loss_tokens": tokens, "capacity": capacity,
                                  "lr_scheduled": scheduled[0], "lr": scheduled[0] * scale, "alr_scale": scale})
            return batches, num_items

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels, weights = inputs.pop("labels"), inputs.pop("weights")
            outputs = model(**inputs, use_cache=False)
            n = self._n if model.training else None  # evaluation: each batch on its own
            loss = wicel_loss(outputs.logits, labels, weights, self.weighting, n)
            if model.training:  # data parallel averages the processes' gradients; each holds its share of N's sum
                loss = loss * self.accelerator.num_processes
            return (loss, outputs) if return_outputs else loss

        def log(self, logs: dict, start_time=None) -> None:
            if "loss" in logs and self.step_log:
                last = self.step_log[-1]
                logs = {**logs, "lr_applied": last["lr"], "loss_tokens": last["loss_tokens"],
                        "alr_scale": last["alr_scale"]}
            super().log(logs, start_time)

    return WicelSFTTrainer


def answer_loss(model, rows: list[dict], batch_size: int = 8) -> float:
    """Mean cross-entropy per answer token (nats), unweighted: the held-out yardstick every variant shares."""
    from bielik.training.curves import mean_loss

    return mean_loss(model, rows, batch_size, SFTCollator())


def heldout_callback(rows: list[dict], every: int, batch_size: int = 8):
    """Answer loss on held-out rows every `every` steps (and at the start), into `callback.curve`."""
    from bielik.training.curves import measure_every

    return measure_every(lambda state, model: {"heldout_loss": answer_loss(model, rows, batch_size)}, every)


def sft_config(out_dir, *, lr: float, min_lr_ratio: float, warmup_steps: int, epochs: float, batch_size: int,
               grad_accum: int, weight_decay: float = 0.05, bf16: bool = False, seed: int = 0, save_steps: int = 0,
               max_steps: int = -1, gradient_checkpointing: bool = False):
    """The report's SFT optimiser, scaled: AdamW (0.9, 0.95), wd 0.05, warm-up then cosine to min_lr_ratio x lr
    (7e-6 -> 6e-7 in the report), clip 1.0; our rows are prepared already, so trl skips its own preparation."""
    from trl import SFTConfig

    from bielik.training.arguments import arguments

    return arguments(SFTConfig, out_dir, lr=lr, warmup_steps=warmup_steps, batch_size=batch_size,
                     scheduler="cosine_with_min_lr", weight_decay=weight_decay, min_lr_ratio=min_lr_ratio,
                     grad_accum=grad_accum, bf16=bf16, seed=seed, logging_steps=1, save_steps=save_steps,
                     num_train_epochs=epochs, max_steps=max_steps, remove_unused_columns=False,
                     dataset_kwargs={"skip_prepare_dataset": True}, max_length=None, shuffle_dataset=False,
                     gradient_checkpointing=gradient_checkpointing)


def train(model, tok, rows: list[dict], args, *, weighting: str, alr: bool, callbacks=None, resume=None):
    """Run the WICEL/ALR trainer on packed rows; returns the trainer (log_history and step_log hold the curves)."""
    import datasets
    from transformers.trainer_callback import PrinterCallback

    from bielik.book import progress
    from bielik.training.checkpoints import CompleteCheckpoints

    mean_row = sum(len(r["input_ids"]) for r in rows) / len(rows)  # packed rows differ a little in length
    tokens_per_step = round(mean_row * args.per_device_train_batch_size * args.gradient_accumulation_steps)
    callbacks = [*(callbacks or []), progress.training_callback(tokens_per_step)]
    cls = type("CheckpointedSFTTrainer", (CompleteCheckpoints, trainer_class()), {})
    trainer = cls(model=model, args=args, train_dataset=datasets.Dataset.from_list(rows), processing_class=tok,
                  data_collator=SFTCollator(), callbacks=callbacks, weighting=weighting, alr=alr)
    trainer.remove_callback(PrinterCallback)
    trainer.train(resume_from_checkpoint=resume)
    return trainer


def variant_settings(variant: str, weighting: str) -> tuple[str, bool]:
    """(WICEL weighting, ALR on?) of an ablation variant: ce = plain cross-entropy, wicel, wicel_alr."""
    table = {"ce": ("none", False), "wicel": (weighting, False), "wicel_alr": (weighting, True)}
    if variant not in table:
        raise ValueError(f"unknown SFT variant {variant!r}: choose from {', '.join(table)}")
    return table[variant]


def run_variant(variant: str, model_dir, tok, rows: list[dict], heldout: list[dict], out_dir, P, seed: int = 0,
                curve_points: int = 8) -> dict:
    """Fine-tune the model in `model_dir` as one ablation variant; save it to out_dir/<variant>; return its curves,
    final held-out answer loss and throughput."""
    import time
    from pathlib import Path

    from bielik.model.storage import load_model, save_model
    from bielik.training.arguments import processes
    from bielik.training.checkpoints import fingerprint, resume_point, run_parameters
    from bielik.training.device import needs_checkpointing

    weighting, alr = variant_settings(variant, P.weighting)
    out_dir = Path(out_dir)
    model = load_model(model_dir)
    model.config.pad_token_id = model.generation_config.pad_token_id = tok.pad_token_id  # trl would warn and set it
    steps = math.ceil(len(rows) / (P.batch_size * P.grad_accum * processes())) * P.epochs  # the held-out cadence
    args = sft_config(out_dir / f"{variant}-checkpoints", lr=P.lr, min_lr_ratio=P.min_lr_ratio, warmup_steps=P.warmup,
                      epochs=P.epochs, batch_size=P.batch_size, grad_accum=P.grad_accum, bf16=bool(P.bf16),
                      seed=seed, gradient_checkpointing=needs_checkpointing(model, P.batch_size, P.context))
    held = heldout_callback(heldout, every=max(1, steps // curve_points))
    start = time.perf_counter()
    shape = run_parameters(args, data=fingerprint(rows), model=str(model_dir), weighting=weighting, alr=alr)
    trainer = train(model, tok, rows, args, weighting=weighting, alr=alr, callbacks=[held],
                    resume=resume_point(args.output_dir, shape))
    seconds = time.perf_counter() - start
    save_model(model, out_dir / variant, tok)
    real_tokens = sum(i != tok.pad_token_id for r in rows for i in r["input_ids"]) * P.epochs  # <pad> is only padding
    return {"variant": variant, "weighting": weighting, "alr": alr, "steps": trainer.state.global_step,
            "rows": len(rows), "processes": trainer.accelerator.num_processes,
            "heldout_loss": held.curve[-1]["heldout_loss"], "heldout_curve": held.curve,
            "train_log": [h for h in trainer.state.log_history if "loss" in h], "step_log": trainer.step_log,
            "seconds": seconds, "tokens_per_s": real_tokens / seconds}


def inputs(ch, tok):
    """Chapter 05's data: the instruction set, the examples that fit a row, the damaged share, and the packed
    training and held-out rows, for the chapter's parameters and seed. A namespace with `examples`, `train`,
    `heldout`, `too_long` (examples longer than a row), `dropped` (damaged ones that grew past it), `rows`,
    `held_rows`."""
    from types import SimpleNamespace

    from bielik.book.paths import repo_root
    from bielik.data import sampling
    from bielik.posttrain import sft_data

    P = ch.params
    examples = sft_data.build(repo_root() / "data", seed=ch.seed)
    fits = [len(encode(tok, e["messages"])["input_ids"]) <= P.context for e in examples]  # whole examples only
    train = [e for e, ok in zip(examples, fits) if ok and e["split"] == "train"]
    heldout = [e for e, ok in zip(examples, fits) if ok and e["split"] == "heldout" and e["tier"] == "human"]
    if P.train_examples:
        train = sampling.evenly(train, P.train_examples)
    heldout = sampling.evenly(heldout, P.heldout_examples)
    train = sft_data.inject_low_quality(train, P.low_quality_share, seed=ch.seed)
    encoded, dropped = encode_all(tok, train, P.context)
    held_encoded, _ = encode_all(tok, heldout, P.context)  # held-out examples are never damaged: all fit
    return SimpleNamespace(examples=examples, train=train, heldout=heldout, dropped=dropped,
                           too_long=[e for e, ok in zip(examples, fits) if not ok],
                           rows=pack(encoded, P.context, tok.pad_token_id),
                           held_rows=pack(held_encoded, P.context, tok.pad_token_id))


def main(scale: str = "full", run_dir=None, variant: str = "wicel_alr") -> None:
    """The cluster entry point (`bielik sft`): one of chapter 05's variants (default the report's), with the scale's
    presets, as a job."""
    from bielik.book.artifacts import write_json
    from bielik.book.scales import as_list
    from bielik.book.session import start
    from bielik.model import storage

    ch = start("05", scale=scale, run_dir=run_dir)
    pretrained = ch.require("04", "model")
    tok = storage.load_tokenizer(pretrained)
    data = inputs(ch, tok)
    result = run_variant(variant, pretrained, tok, data.rows, data.held_rows, ch.dir, ch.params, seed=ch.seed)
    write_json(ch.dir / f"{variant}-result.json", result)
    if variant == as_list(ch.params.variants)[-1]:  # the variant the chapter keeps for chapter 06
        storage.save_model(storage.load_model(ch.dir / variant), ch.dir / "model", tokenizer=tok)
