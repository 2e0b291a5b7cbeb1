"""The hub models and data sets a scale needs: listed from the presets, fetched once into the Hugging Face cache
(`bielik fetch`), and found there afterwards with the hub off (HF_HUB_OFFLINE=1), as on a cluster's compute nodes.

Nothing here names a repository of its own: the ids come from the presets in scales.py (02's base_tokenizer, 03's
base_model, 01's hub_dataset), so a changed preset changes what is fetched, and from the evaluation tasks' hub sets
(scales.HUB_TASK_SETS), which `small` and `full` read.
"""
from __future__ import annotations

import fnmatch
import os
import sys
from dataclasses import dataclass
from pathlib import Path

# A model's files that transformers and mergekit read; repositories also hold other formats (onnx/, GGUF,
# pytorch_model.bin, Mistral's consolidated.safetensors) that would double the download.
MODEL_FILES = ("config.json", "generation_config.json", "model.safetensors", "model-*-of-*.safetensors",
               "model.safetensors.index.json", "tokenizer.json", "tokenizer.model", "tokenizer_config.json",
               "special_tokens_map.json", "vocab.json", "merges.txt")
# A hub corpus's parquet shards for one config, per scale: `small` reads its hub_docs from the first shard,
# `full` takes them all. The layouts are the data sets' own.
DATASET_FILES = {
    "HPLT/HPLT2.0_cleaned": {"small": "{config}/train-00000-of-*.parquet", "full": "{config}/train-*.parquet"},
    "HuggingFaceFW/fineweb-2": {"small": "data/{config}/train/000_00000.parquet",
                                "full": "data/{config}/train/*.parquet"},
}


@dataclass(frozen=True)
class Asset:
    kind: str  # "model" or "dataset"
    repo_id: str
    patterns: tuple[str, ...]  # the files of the repository this scale uses (fnmatch patterns)
    used_by: str  # the chapters and parameters that name it

    @property
    def repo_type(self) -> str:
        return "model" if self.kind == "model" else "dataset"


class NotCached(FileNotFoundError):
    """A hub asset the run needs is not in the local cache while the hub is off."""


class HubUnreachable(ConnectionError):
    """The hub did not answer (no network, the hub switched off, a gated repository without a login)."""


def split_spec(spec: str) -> tuple[str, str]:
    """ "name:config" -> (name, config)."""
    name, _, config = spec.partition(":")
    return name, config


def dataset_patterns(spec: str, scale: str) -> tuple[str, ...]:
    name, config = split_spec(spec)
    if name not in DATASET_FILES:
        raise ValueError(f"hub_dataset {spec!r}: bielik knows the file layout of {', '.join(DATASET_FILES)} only; "
                         f"add the data set's layout to DATASET_FILES in bielik/book/hub.py")
    layout = DATASET_FILES[name]
    return (layout.get(scale, layout["full"]).format(config=config),)


def model_asset(repo_id: str, used_by: str = "") -> Asset:
    return Asset("model", repo_id, MODEL_FILES, used_by)


def dataset_asset(spec: str, scale: str, used_by: str = "") -> Asset:
    """The corpus "name:config" as `scale` reads it: the shards of DATASET_FILES."""
    return Asset("dataset", split_spec(spec)[0], dataset_patterns(spec, scale), used_by)


# An evaluation set's data files, in whichever of the formats datasets reads the repository keeps them
EVAL_FILES = ("*.parquet", "*.csv", "*.tsv", "*.json", "*.jsonl")


def eval_asset(repo_id: str, used_by: str = "") -> Asset:
    return Asset("dataset", repo_id, EVAL_FILES, used_by)


def assets(scale: str) -> list[Asset]:
    """Every hub model and data set the chapters' presets name at `scale`, and the evaluation tasks' hub sets where
    the scale reads them (none at ci and tiny)."""
    from bielik.book.scales import HUB_TASK_SETS, get_scale, preset, reads_hub_tasks

    get_scale(scale)
    named: dict[tuple[str, str], list[str]] = {}
    for chapter, parameter, kind in (("02_tokenizer", "base_tokenizer", "model"), ("03_upscaling", "base_model", "model"),
                                     ("01_data", "hub_dataset", "dataset")):
        value = preset(chapter, scale)[parameter]
        if value:
            named.setdefault((kind, str(value)), []).append(f"{chapter[:2]} {parameter}")
    out = [model_asset(value, ", ".join(users)) if kind == "model" else dataset_asset(value, scale, ", ".join(users))
           for (kind, value), users in named.items()]
    if reads_hub_tasks(scale):
        out += [eval_asset(repo_id, f"task {name}") for name, repo_id in HUB_TASK_SETS.items()]
    return out


def _matches(path: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(path, p) for p in patterns)


def local_files(asset: Asset) -> list[Path]:
    """The asset's files in the local Hugging Face cache (empty when it is not there); never touches the network."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        root = Path(snapshot_download(asset.repo_id, repo_type=asset.repo_type, allow_patterns=list(asset.patterns),
                                      local_files_only=True))
    except (LocalEntryNotFoundError, OSError):
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and _matches(p.relative_to(root).as_posix(), asset.patterns))


def hub_is_off() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def require_local(asset: Asset, scale: str) -> list[Path]:
    """The cached files, or a clear error naming the command that fetches them."""
    files = local_files(asset)
    if not files:
        raise NotCached(f"{asset.kind} {asset.repo_id} ({', '.join(asset.patterns)}) is not in the Hugging Face cache "
                        f"({cache_dir()}) and the hub is off: run `bielik fetch --scale {scale}` on a machine with a "
                        f"network, with the same HF_HOME")
    return files


def files(asset: Asset, scale: str) -> list[Path]:
    """The asset's cached files; with the hub on, what is missing is downloaded first (snapshot_download)."""
    found = local_files(asset)
    if found or hub_is_off():
        return found or require_local(asset, scale)
    from huggingface_hub import snapshot_download

    snapshot_download(asset.repo_id, repo_type=asset.repo_type, allow_patterns=list(asset.patterns))
    return require_local(asset, scale)


def cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def remote_files(asset: Asset) -> list[tuple[str, int]]:
    """(path, bytes) of the files the asset fetches, from the hub's listing (needs the network)."""
    from huggingface_hub import HfApi

    # list only the folder the patterns lie in (a corpus repository holds thousands of files per language)
    folders = {os.path.dirname(p) for p in asset.patterns}
    folder = folders.pop() if len(folders) == 1 else ""
    folder = None if not folder or any(c in folder for c in "*?[") else folder
    entries = HfApi().list_repo_tree(asset.repo_id, repo_type=asset.repo_type, path_in_repo=folder, recursive=True)
    return sorted((e.path, int(e.size or 0)) for e in entries  # folders have no size
                  if hasattr(e, "size") and _matches(e.path, asset.patterns))


def human(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def fetch(scale: str, listing_only: bool = False, stream=None) -> int:
    """List what `scale` needs with sizes, then download what the cache lacks (snapshot_download); return the bytes
    listed. Afterwards the chapters run with HF_HUB_OFFLINE=1."""
    from huggingface_hub import snapshot_download

    stream = stream or sys.stdout
    needed = assets(scale)
    if not needed:
        print(f"scale {scale} uses only what the repository ships: nothing to fetch", file=stream)
        return 0
    total = 0
    plan = []
    for a in needed:
        try:
            files = remote_files(a)
        except Exception as e:  # httpx's connection errors, huggingface_hub's offline and HTTP errors
            raise HubUnreachable(f"{a.kind} {a.repo_id}: the hub's file listing failed ({type(e).__name__}: {e}). "
                                 f"bielik fetch needs a network (HF_HUB_OFFLINE unset); a gated model needs "
                                 f"`hf auth login` and its licence accepted on its hub page") from None
        if not files:
            raise FileNotFoundError(f"{a.kind} {a.repo_id}: no file on the hub matches {', '.join(a.patterns)}")
        size = sum(s for _, s in files)
        total += size
        cached = {p.relative_to(snapshot_root(p)).as_posix() for p in local_files(a)}
        missing = [f for f, _ in files if f not in cached]
        plan.append((a, missing))
        print(f"{a.kind:<8} {a.repo_id:<36} {len(files):>5} files {human(size):>10}  "
              f"{'cached' if not missing else f'{len(missing)} to fetch'}  ({a.used_by})", file=stream)
    print(f"{'total':<8} {'':<36} {'':>11} {human(total):>10}  into {cache_dir()}", file=stream)
    if listing_only:
        return total
    for a, missing in plan:
        if missing:
            snapshot_download(a.repo_id, repo_type=a.repo_type, allow_patterns=list(a.patterns))
    print(f"done: run the chapters with HF_HUB_OFFLINE=1 (and HF_HOME={os.environ.get('HF_HOME', '~/.cache/huggingface')})",
          file=stream)
    return total


def snapshot_root(path: Path) -> Path:
    """The snapshots/<commit> folder a cached file lies in."""
    for parent in path.parents:
        if parent.parent.name == "snapshots":
            return parent
    raise ValueError(f"{path} is not in a hub cache snapshot")


def status(scale: str) -> list[dict]:
    """For `bielik doctor --scale`: each asset, cached or missing, with its local size."""
    rows = []
    for a in assets(scale):
        files = local_files(a)
        size = sum(p.stat().st_size for p in files)
        rows.append({"asset": a, "cached": bool(files), "files": len(files), "bytes": size})
    return rows
