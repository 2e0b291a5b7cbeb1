"""`bielik doctor`: the environment check a student runs first. It reports Python, the package, torch and the
device, cores, free memory and disk, and whether each part the chapters need is installed, with the command
that installs what is missing. Nothing here downloads anything."""
from __future__ import annotations

import os
import shutil
import sys
from importlib import metadata
from pathlib import Path

OK, MISSING, WARN = "ok", "missing", "warning"

# (distribution, what needs it, required for the tiny book)
PARTS = [
    ("transformers", "every model", True), ("trl", "chapters 05-06", True), ("datasets", "chapters 04-06", True),
    ("xgboost-cpu", "chapter 01's classifier", True), ("morfeusz2", "chapter 01's Polish features", True),
    ("mergekit", "chapters 03 and 07", True), ("lm_eval", "the evaluation harness, chapters 04-09", True),
    ("papermill", "running chapters", True), ("jupyter-book", "building the book", True),
    ("gguf", "chapter 08 (GGUF files)", True), ("llama_cpp_python", "chapter 08 (llama.cpp)", True),
    ("llmcompressor", "chapter 08 (GPTQ)", True),
]
INSTALL = "pip install -e '.[test,quantization]' (or: bash run.sh test)"
# the tiny book on the reference machine (2 cores): its kernels and their child processes peaked at 2.8 GB
# resident, and runs/tiny held 1.6 GB at the end; with room to spare
NEEDS_GB = {"memory": 4.0, "disk": 3.0}


def _version(dist: str) -> str | None:
    for name in (dist, dist.replace("_", "-"), dist.replace("-", "_")):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def _memory_gb() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            fields = dict(line.split(":", 1) for line in f)
        return int(fields["MemAvailable"].split()[0]) / 2**20
    except (OSError, KeyError, ValueError):
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
        except (ValueError, OSError, AttributeError):
            return None


def checks(run_dir: Path | None = None, scale: str | None = None) -> list[dict]:
    """Rows of {"part", "status", "detail"}; with `scale`, also its hub assets, cached or missing."""
    from bielik.book.paths import repo_root

    rows = []

    def add(part, status, detail):
        rows.append({"part": part, "status": status, "detail": detail})

    py = sys.version_info
    add("Python", OK if py >= (3, 11) else MISSING, f"{py.major}.{py.minor}.{py.micro} (3.11 or newer needed)")
    add("bielik", OK if _version("bielik") else WARN, f"{_version('bielik') or 'not installed'} at {repo_root()}")
    try:
        import torch

        add("torch", OK, f"{torch.__version__}, {torch.get_num_threads()} threads")
        if torch.cuda.is_available():
            props = torch.cuda.get_device_properties(0)
            add("device", OK, f"GPU: {props.name}, {props.total_memory / 2**30:.0f} GiB, bf16 "
                              f"{'supported' if torch.cuda.is_bf16_supported() else 'not supported'}")
        else:
            add("device", WARN if scale in ("small", "full") else OK,
                "CPU only: run the tiny scale (small and full need a GPU; `--smoke` runs their code path here)")
        from bielik.training.precision import probe as precision_probe

        p = precision_probe()  # about a second: what a chapter's bf16 = auto will choose here
        add("bf16", OK, f"auto trains in {'bf16' if p['bf16'] else 'fp32'} here ({p['why']})")
    except ImportError:
        add("torch", MISSING, "pip install torch==2.13.0 (first, so that no CUDA build is pulled)")
    from bielik.book.provenance import usable_cores

    cores = usable_cores()
    add("CPU cores", OK if cores >= 2 else WARN, f"{cores} (the tiny book's timings are for 2)")
    mem = _memory_gb()
    add("free memory", WARN if mem is not None and mem < NEEDS_GB["memory"] else OK,
        "unknown" if mem is None else f"{mem:.1f} GB available (the tiny book needs about {NEEDS_GB['memory']:g})")
    where = Path(run_dir or repo_root() / "runs")
    probe = where if where.exists() else where.parent
    disk = shutil.disk_usage(probe).free / 2**30
    add("free disk", WARN if disk < NEEDS_GB["disk"] else OK,
        f"{disk:.1f} GB free at {probe} (the tiny book writes about {NEEDS_GB['disk']:g})")
    for dist, why, _ in PARTS:
        v = _version(dist)
        add(dist, OK if v else MISSING, f"{v} - {why}" if v else f"not installed - {why}: {INSTALL}")
    try:
        import llama_cpp  # noqa: F401  (loads the compiled library: a broken build fails here)

        add("llama.cpp library", OK, "llama_cpp imports")
    except Exception as e:  # ImportError, or OSError from a library built for another machine
        add("llama.cpp library", MISSING, f"{type(e).__name__}: {e}: {INSTALL}")
    from bielik.deploy.gguf_files import converter_dir

    script = converter_dir() / "convert_hf_to_gguf.py"
    add("GGUF converter", OK if script.exists() else MISSING,
        str(script) if script.exists() else f"not at {script}: bielik install-converter")
    if scale:
        from bielik.book import hub

        for row in hub.status(scale):
            a = row["asset"]
            add(f"{a.kind} {a.repo_id}", OK if row["cached"] else MISSING,
                f"cached: {row['files']} files, {hub.human(row['bytes'])} in {hub.cache_dir()} ({a.used_by})"
                if row["cached"] else f"not in {hub.cache_dir()}: bielik fetch --scale {scale} ({a.used_by})")
    return rows


def report(rows: list[dict], scale: str | None = None) -> str:
    width = max(len(r["part"]) for r in rows)
    lines = [f"{r['part']:<{width}}  {r['status']:<7}  {r['detail']}" for r in rows]
    missing = [r["part"] for r in rows if r["status"] == MISSING]
    lines.append("")
    lines.append(f"missing: {', '.join(missing)}" if missing else
                 f"everything the {scale or 'tiny'} book needs is here")
    return "\n".join(lines)
