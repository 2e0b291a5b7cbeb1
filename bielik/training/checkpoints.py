"""Checkpoints that are marked complete only once everything is on disk, and the newest complete one to resume
from: a run killed while saving never leaves a folder that looks finished.
"""
from __future__ import annotations

COMPLETE = "COMPLETE"  # written last into a checkpoint folder: without it the folder is a killed save


class CompleteCheckpoints:
    """Mixin for a transformers Trainer: a checkpoint is marked complete only once everything is on disk.
    `save_seconds` is the time the saves took (part of the run's wall time, not of its steps)."""

    save_seconds = 0.0

    def _save_checkpoint(self, model, trial):
        import time
        from pathlib import Path

        t0 = time.perf_counter()
        super()._save_checkpoint(model, trial)
        folder = Path(self._get_output_dir(trial=trial)) / f"checkpoint-{self.state.global_step}"
        (folder / COMPLETE).write_text(str(self.state.global_step))
        self.save_seconds += time.perf_counter() - t0


def complete_checkpoint_trainer():
    """transformers' Trainer with CompleteCheckpoints."""
    from transformers import Trainer

    return type("CheckpointedTrainer", (CompleteCheckpoints, Trainer), {})


def numbered(folder, prefix: str) -> list:
    """The `prefix`N subfolders of `folder` (checkpoint-N, step-N), by N: step-10 comes after step-9."""
    import re
    from pathlib import Path

    found = sorted((int(m.group(1)), p) for p in Path(folder).glob(f"{prefix}*")
                   if p.is_dir() and (m := re.fullmatch(rf"{re.escape(prefix)}(\d+)", p.name)))
    return [p for _, p in found]


def last_complete_checkpoint(out_dir) -> str | None:
    """The newest checkpoint-N folder that was saved completely; folders of killed saves are removed."""
    import shutil

    for path in reversed(numbered(out_dir, "checkpoint-")):
        if (path / COMPLETE).exists():
            return str(path)
        shutil.rmtree(path)  # a half-written checkpoint must never be resumed from
    return None


# --- which run a checkpoint belongs to -----------------------------------------------------------------------

PARAMETERS = "parameters.json"  # beside the checkpoint-N folders: what shaped the run that wrote them
# settings that decide where and how often a run writes, logs or evaluates, not what it learns
NOT_SHAPING = ("output_dir", "logging", "log_", "eval", "do_eval", "batch_eval", "per_device_eval", "bf16_full_eval",
               "fp16_full_eval", "hub_", "push_to_hub", "save_", "disable_tqdm", "report_to", "run_name")


def fingerprint(rows) -> str:
    """sha256 of training rows (token ids, pairs...): the same data gives the same value on every machine."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()


def run_parameters(args, **more) -> dict[str, str]:
    """What shapes a training run: its training arguments (learning rate, steps, batch, schedule, seed, bf16...)
    without the ones that only say where and how often it writes, plus `more` (the data's fingerprint, the
    starting model, the stage's own settings). Values as text, so the record compares exactly."""
    shaping = {k: str(v) for k, v in args.to_dict().items() if not k.startswith(NOT_SHAPING)}
    return {**shaping, **{k: str(v) for k, v in more.items()}}


def resume_point(out_dir, parameters: dict[str, str], stream=None) -> str | None:
    """The checkpoint to resume from in `out_dir`, if its run had the same `parameters` (run_parameters). When
    they differ, or were never recorded, the old checkpoints belong to another run: they are removed, the run
    starts afresh, and a line says which parameters changed. The new parameters are recorded either way."""
    import shutil
    import sys
    from pathlib import Path

    from bielik.book.artifacts import read_json, write_json

    out_dir, stream = Path(out_dir), stream or sys.stdout
    record = out_dir / PARAMETERS
    old = read_json(record) if record.exists() else None
    stale = numbered(out_dir, "checkpoint-")
    if stale and old != parameters:
        if old is None:
            why = "no record of the parameters that made them"
        else:
            changed = [k for k in sorted(set(old) | set(parameters)) if old.get(k) != parameters.get(k)]
            why = "changed " + ", ".join(f"{k} {old.get(k)} -> {parameters.get(k)}" for k in changed[:6])
            why += f" and {len(changed) - 6} more" if len(changed) > 6 else ""
        print(f"{out_dir}: {len(stale)} checkpoint(s) of another run ({why}); starting afresh", file=stream)
        for p in stale:
            shutil.rmtree(p)
    write_json(record, parameters)
    return last_complete_checkpoint(out_dir)
