"""Checkpoints that are marked complete only once everything is on disk, and the newest complete one to resume
from: a run killed while saving never leaves a folder that looks finished.
"""
from __future__ import annotations

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
