"""transformers' Trainer on packed rows (chapters 03 and 04), with checkpoints marked complete once written.
"""
from __future__ import annotations

from bielik.training.checkpoints import complete_checkpoint_trainer
from bielik.training.packing import PackedCollator


def train(model, train_rows: list[dict], args, eval_rows: list[dict] | None = None, resume: str | None = None,
          callbacks: list | None = None):
    """Train with transformers' Trainer on packed rows, resuming from `resume` (a checkpoint folder) if given;
    returns the trainer (its log history holds the curve)."""
    import datasets
    from transformers.trainer_callback import PrinterCallback

    from bielik.book import progress

    per_step = args.per_device_train_batch_size * args.gradient_accumulation_steps
    tokens_per_step = len(train_rows[0]["input_ids"]) * per_step  # packed rows: all of one length
    callbacks = [*(callbacks or []), progress.training_callback(tokens_per_step)]
    to_ds = lambda rows: datasets.Dataset.from_list(rows)  # noqa: E731
    trainer = complete_checkpoint_trainer()(
        model=model, args=args, train_dataset=to_ds(train_rows), eval_dataset=to_ds(eval_rows) if eval_rows else None,
        data_collator=PackedCollator(), callbacks=callbacks)
    trainer.remove_callback(PrinterCallback)  # the curve is in trainer.state.log_history; chapters plot it
    trainer.train(resume_from_checkpoint=resume)
    return trainer
