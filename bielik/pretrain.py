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
def mean_loss(model, rows: list[dict], batch_size: int = 8) -> float:
    """Mean cross-entropy per target token (nats) over packed rows, in evaluation mode."""
    model.eval()
    collate = PackedCollator()
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
        gradient_accumulation_steps=grad_accum, bf16=bf16, use_cpu=True, seed=seed, data_seed=seed,
        logging_steps=logging_steps, save_strategy="steps" if save_steps else "no", save_steps=save_steps or 500,
        eval_strategy="steps" if eval_steps else "no", eval_steps=eval_steps or None,
        report_to="none", remove_unused_columns=False, dataloader_num_workers=0, disable_tqdm=True,
    )


def train(model, train_rows: list[dict], args, eval_rows: list[dict] | None = None, resume: bool | str = False):
    """Train with transformers' Trainer on packed rows; returns the trainer (its log history holds the curve)."""
    import datasets
    from transformers import Trainer
    from transformers.trainer_callback import PrinterCallback

    to_ds = lambda rows: datasets.Dataset.from_list(rows)  # noqa: E731
    trainer = Trainer(model=model, args=args, train_dataset=to_ds(train_rows),
                      eval_dataset=to_ds(eval_rows) if eval_rows else None, data_collator=PackedCollator())
    trainer.remove_callback(PrinterCallback)  # the curve is in trainer.state.log_history; chapters plot it
    trainer.train(resume_from_checkpoint=resume or None)
    return trainer


def split_rows(rows: list[dict], n_eval: int, seed: int = 0) -> tuple[list[dict], list[dict]]:
    order = np.random.default_rng(seed).permutation(len(rows))
    return [rows[i] for i in order[n_eval:]], [rows[i] for i in order[:n_eval]]
