"""transformers' training arguments in the report's recipe: the one builder that pretraining, SFT and DPO-P share.

Every stage of the report uses AdamW (0.9, 0.95) and clips gradients at 1.0; they differ in the schedule, the
weight decay and their trainer's own settings, which each stage passes on (`training_arguments` here,
`posttrain.sft.sft_config`, `posttrain.dpo.dpo_config`).
"""
from __future__ import annotations

import torch


def arguments(config_class, out_dir, *, lr: float, warmup_steps: int, batch_size: int, scheduler: str,
              weight_decay: float, min_lr_ratio: float | None = None, grad_accum: int = 1, bf16: bool = False,
              seed: int = 0, logging_steps: int = 1, save_steps: int = 0, eval_steps: int = 0, **stage):
    """`config_class` (TrainingArguments or one of trl's configs) with what every stage shares: AdamW (0.9, 0.95),
    clipping at 1.0, `scheduler` (with a floor of `min_lr_ratio` x lr for the cosine), the CPU where there is no
    GPU, one seed for the model and the data order, checkpoints every `save_steps` and evaluation every
    `eval_steps` (0: none), no reporting and no progress bars. Under a data-parallel launch each process takes
    `batch_size` rows (`processes`). `stage`: the stage's own settings."""
    if min_lr_ratio is not None:
        stage["lr_scheduler_kwargs"] = {"min_lr_rate": min_lr_ratio}
    return config_class(
        output_dir=str(out_dir), learning_rate=lr, warmup_steps=warmup_steps, lr_scheduler_type=scheduler,
        adam_beta1=0.9, adam_beta2=0.95, weight_decay=weight_decay, max_grad_norm=1.0,
        per_device_train_batch_size=batch_size, per_device_eval_batch_size=batch_size,
        gradient_accumulation_steps=grad_accum, bf16=bf16, use_cpu=not torch.cuda.is_available(), seed=seed,
        data_seed=seed, logging_steps=logging_steps, save_strategy="steps" if save_steps else "no",
        save_steps=save_steps or 500, eval_strategy="steps" if eval_steps else "no", eval_steps=eval_steps or None,
        report_to="none", dataloader_num_workers=0, disable_tqdm=True,
        ddp_find_unused_parameters=False,  # every parameter trains: DDP need not walk the graph for idle ones
        **stage)


def training_arguments(out_dir, *, max_steps: int, lr: float, min_lr_ratio: float, warmup_steps: int,
                       batch_size: int, grad_accum: int = 1, weight_decay: float = 0.1, bf16: bool = False,
                       seed: int = 0, logging_steps: int = 10, save_steps: int = 0, eval_steps: int = 0,
                       gradient_checkpointing: bool = False):
    """Pretraining (§3), scaled: warm-up then cosine to `min_lr_ratio` x lr, weight decay 0.1; gradient
    checkpointing where the step would not fit in memory (bielik.training.device.needs_checkpointing)."""
    from transformers import TrainingArguments

    return arguments(TrainingArguments, out_dir, lr=lr, warmup_steps=warmup_steps, batch_size=batch_size,
                     scheduler="cosine_with_min_lr", weight_decay=weight_decay, min_lr_ratio=min_lr_ratio,
                     grad_accum=grad_accum, bf16=bf16, seed=seed, logging_steps=logging_steps,
                     save_steps=save_steps, eval_steps=eval_steps, max_steps=max_steps,
                     remove_unused_columns=False, gradient_checkpointing=gradient_checkpointing)


def process_state():
    """accelerate's state of this process, made as the Trainer makes it: with cpu=True where there is no GPU, else
    accelerate takes each process of a torchrun job on a CPU for a job of its own."""
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def processes() -> int:
    """The processes of the data-parallel job this one belongs to (1 outside one). Each takes its own batch, so an
    optimizer step's global batch is batch_size x grad_accum x processes, and a run over a fixed amount of data
    takes that many times fewer steps."""
    return process_state().num_processes
