"""How a chapter was executed. The runner stamps every executed notebook's metadata with the package version,
the commit and the machine, beside what papermill records itself (the parameters, start and duration). The book
prints it under each chapter and the course guide's timings table reads it (bielik.book.sphinx_ext)."""
from __future__ import annotations

import functools
import json
import os
import platform
import subprocess
from pathlib import Path

from bielik.book.artifacts import read_json, write_notebook


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        return round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        return None


def usable_cores() -> int:
    """The cores this process may use (a container or taskset may allow fewer than the machine has): the thread
    count of xgboost, llama.cpp and SentencePiece."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@functools.cache
def machine() -> dict:
    """The machine a chapter ran on: the cores this process may use, the CPU, memory, Python, torch, GPU."""
    import torch

    cores = usable_cores()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cores": cores, "cpu": _cpu_model(), "memory_gb": _memory_gb(), "gpu": gpu,
            "python": platform.python_version(), "torch": torch.__version__}


def commit(root: Path) -> str | None:
    """The checkout's short commit, with "+changes" when tracked files differ from it; None outside git."""
    def git(*args):
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
    try:
        head = git("rev-parse", "--short", "HEAD")
        if head.returncode != 0:
            return None
        dirty = git("diff", "--quiet", "HEAD", "--").returncode != 0
    except (OSError, subprocess.TimeoutExpired):
        return None
    return head.stdout.strip() + ("+changes" if dirty else "")


def package_version() -> str:
    """The installed package's version (the one number is in pyproject.toml); "unknown" in a bare checkout."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bielik")
    except PackageNotFoundError:
        return "unknown"


def stamp(notebook: Path, scale: str, root: Path) -> None:
    """Add {"bielik": {version, commit, scale, machine}} to an executed notebook's metadata (atomically)."""
    nb = read_json(notebook)
    nb["metadata"]["bielik"] = {"version": package_version(), "commit": commit(root), "scale": scale, "machine": machine()}
    write_notebook(notebook, nb)


def read(notebook: Path) -> dict:
    """What the page footer and the timings table show, from an executed notebook's metadata.

    Keys: scale, parameters (what papermill was given besides the scale), version, commit, machine, seconds,
    started. A notebook executed by plain papermill has no "bielik" stamp: version, commit and machine are None.
    """
    meta = read_json(notebook).get("metadata", {})
    pm, bk = meta.get("papermill") or {}, meta.get("bielik") or {}
    params = dict(pm.get("parameters") or {})
    scale = params.pop("scale", None) or bk.get("scale")
    params.pop("run_dir", None)  # a path on the machine that ran it, not a choice of the reader's
    return {"scale": scale, "parameters": params, "version": bk.get("version"), "commit": bk.get("commit"),
            "machine": bk.get("machine"), "seconds": pm.get("duration"), "started": pm.get("start_time")}


def describe_machine(m: dict | None) -> str:
    if not m:
        return "an unrecorded machine"
    text = f"{m['cores']} CPU core{'s' if m['cores'] != 1 else ''} ({m['cpu']}"
    text += f", {m['memory_gb']:g} GB)" if m.get("memory_gb") else ")"
    return text + (f" and a {m['gpu']}" if m.get("gpu") else ", no GPU")


def timings(chapters_dir: Path) -> dict:
    """The reference timings record (book/timings.json) from the executed chapters in `chapters_dir`."""
    runs = {nb.stem: read(nb) for nb in sorted(Path(chapters_dir).glob("*.ipynb"))}
    if not runs:
        raise ValueError(f"no executed chapters in {chapters_dir}: run them first (bielik run --scale tiny)")
    unstamped = [c for c, r in runs.items() if not r["machine"] or r["seconds"] is None]
    if unstamped:
        raise ValueError(f"{', '.join(unstamped)} in {chapters_dir} carry no timing stamp: "
                         "execute them with `bielik run`, not plain papermill")
    scales = sorted({r["scale"] for r in runs.values()})
    machines = {json.dumps(r["machine"], sort_keys=True) for r in runs.values()}
    if len(scales) > 1 or len(machines) > 1:
        raise ValueError(f"the chapters in {chapters_dir} were executed at different scales ({', '.join(scales)}) "
                         "or on different machines: run them all in one `bielik run`")
    first = next(iter(runs.values()))
    return {"scale": scales[0], "measured": max(r["started"] or "" for r in runs.values()),
            "version": first["version"], "commit": first["commit"], "machine": first["machine"],
            "chapters": [{"chapter": c, "seconds": round(r["seconds"], 1)} for c, r in runs.items()]}
