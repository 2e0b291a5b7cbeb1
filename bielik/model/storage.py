"""Save and load models as safetensors folders, never with remote code, hub off at offline scales."""
from __future__ import annotations

import os
from pathlib import Path

from bielik.book.artifacts import atomic_path


class NotAModel(ValueError):
    pass


def save_model(model, path: str | os.PathLike, tokenizer=None) -> Path:
    """Write a Hugging Face model folder (safetensors) atomically: a killed save leaves no folder behind. In a
    data-parallel job (every process holds the whole model) the main process writes and the others wait for it."""
    from bielik.training.arguments import process_state

    state = process_state()
    # FSDP (chapters 04-06 at full) leaves each process a shard of every weight: all of them gather the full
    # weights (torch's own API, onto the CPU) before the main process writes them
    full = _gathered_state_dict(model) if _is_sharded(model) else None
    with state.main_process_first():  # a barrier after the main process's block, before the others'
        if state.is_main_process:
            _write_model(model, path, tokenizer, full)
    return Path(path)


def _is_sharded(model) -> bool:
    from torch.distributed.tensor import DTensor

    return any(isinstance(p, DTensor) for p in model.parameters())


def _gathered_state_dict(model) -> dict:
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))


def _write_model(model, path, tokenizer, state_dict=None) -> None:
    with atomic_path(path, is_dir=True) as tmp:
        model.save_pretrained(tmp, safe_serialization=True, state_dict=state_dict)
        if tokenizer is not None:
            from bielik.model.tokenizer import (
                save_tokenizer,  # the layout llama.cpp's converter reads
            )
            save_tokenizer(tokenizer, tmp)


def load_model(name_or_path: str | os.PathLike, dtype=None):
    """A causal LM from a local folder, or from a hub id when the hub is on (the `small` and `full` scales).

    In fp32 unless `dtype` says otherwise, whatever the file holds: a bf16 checkpoint (SmolLM2, Mistral, the
    up-scaled model at small) would otherwise load in bf16 (transformers' "auto"), and training would update bf16
    weights, losing small updates; mixed precision keeps fp32 weights and computes in bf16 under autocast."""
    import torch
    from transformers import AutoModelForCausalLM

    _check_source(name_or_path)
    return AutoModelForCausalLM.from_pretrained(str(name_or_path), dtype=dtype or torch.float32,
                                                trust_remote_code=False, use_safetensors=True)


def load_config(name_or_path: str | os.PathLike):
    """A model's configuration alone, from a folder or a hub id (as load_model finds them)."""
    from transformers import AutoConfig

    _check_source(name_or_path)
    return AutoConfig.from_pretrained(str(name_or_path), trust_remote_code=False)


def _check_source(name_or_path) -> None:
    """A folder must hold a model; a hub id with the hub off must be in the local cache (`bielik fetch`)."""
    path = Path(name_or_path)
    if path.exists():
        _check_model_folder(path)
        return
    from bielik.book import hub

    if hub.hub_is_off() and not hub.local_files(hub.model_asset(str(name_or_path))):
        raise NotAModel(f"{name_or_path}: no such folder, and the hub is off with no copy of it in the Hugging Face "
                        f"cache ({hub.cache_dir()}): at small and full run `bielik fetch --scale <scale>` first "
                        f"(hub ids are for the small and full scales)")


def load_tokenizer(name_or_path: str | os.PathLike):
    """The tokenizer saved beside a model (every model folder of the book carries one)."""
    from transformers import AutoTokenizer

    path = Path(name_or_path)
    if path.exists() and not (path / "tokenizer_config.json").exists():
        raise NotAModel(f"{path} has no tokenizer_config.json: save models with bielik.model.storage.save_model(model, "
                        f"path, tokenizer)")
    return AutoTokenizer.from_pretrained(str(name_or_path), trust_remote_code=False)


def _check_model_folder(path: Path) -> None:
    if not path.is_dir() or not (path / "config.json").exists():
        raise NotAModel(f"{path} is not a model folder: it has no config.json")
    if not any(path.glob("*.safetensors")):
        raise NotAModel(f"{path} has no *.safetensors weights (the book saves models as safetensors only)")
