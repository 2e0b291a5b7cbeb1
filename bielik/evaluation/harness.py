"""Score a model on the Polish tasks through EleutherAI's lm-evaluation-harness: the one call chapters 04-09 make.

`evaluate(ch, model_dir, stage)` runs the task YAMLs of bielik/evaluation/tasks/ (0- and 5-shot), normalises each score to
its baseline as the Open PL LLM Leaderboard does, adds the held-out Polish perplexity, and writes it all to
runs/<scale>/<chapter>/eval/<stage>.json (chapter 09 reads every stage from there) and to the chapter's metrics.
"""
from __future__ import annotations

import logging
import math
import time
from pathlib import Path

from bielik.book import figures
from bielik.book.artifacts import read_json, write_json
from bielik.evaluation import polish_tasks

TASKS_DIR = Path(__file__).parent / "tasks"
EVAL_DIR = "eval"  # runs/<scale>/<chapter>/eval/<stage>.json


def _quiet() -> None:
    """lm-eval logs every request batch and draws progress bars; the chapters show the table instead."""
    for name in ("lm-eval", "lm_eval"):
        logging.getLogger(name).setLevel(logging.ERROR)


def task_manager(data_dir: Path | None = None):
    from lm_eval.tasks import TaskManager

    _quiet()
    meta = {"data_dir": str(data_dir)} if data_dir else None
    # only our folder: indexing the harness's thousands of built-in tasks takes seconds and they read the Hub
    return TaskManager(include_path=str(TASKS_DIR), include_defaults=False, metadata=meta)


def lm_for(model, tok, batch_size: int = 16, calls: type | None = None):
    """Wrap a loaded transformers model for the harness (HFLM, on the model's own device). `calls`, a mixin
    overriding HFLM's `_model_call` and `_model_generate`, runs the model elsewhere (llama.cpp)."""
    from lm_eval.models.huggingface import HFLM

    class QuietHFLM(*((calls,) if calls else ()), HFLM):
        """HFLM without its request progress bars, which would fill an executed chapter's page."""

        def loglikelihood(self, requests, disable_tqdm: bool = False):
            return super().loglikelihood(requests, disable_tqdm=True)

        def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
            return super().loglikelihood_rolling(requests, disable_tqdm=True)

        def generate_until(self, requests, disable_tqdm: bool = False):
            return super().generate_until(requests, disable_tqdm=True)

    _quiet()
    return QuietHFLM(pretrained=model, tokenizer=tok, batch_size=batch_size, device=str(model.device),
                     max_length=getattr(model.config, "max_position_embeddings", None))


def run_tasks(lm, tasks: list[str] | None = None, shots: int = 0, limit: int | None = None,
              data_dir: Path | None = None, seed: int = 0) -> dict:
    """lm-eval's simple_evaluate on our tasks; returns its `results` section (task -> metric -> value)."""
    from lm_eval import simple_evaluate

    tasks = list(tasks or polish_tasks.TASKS)
    unknown = [t for t in tasks if t not in polish_tasks.TASKS]
    if unknown:
        raise KeyError(f"unknown task(s) {', '.join(unknown)}; the tasks are: {', '.join(polish_tasks.TASKS)}")
    out = simple_evaluate(model=lm, tasks=tasks, num_fewshot=shots, limit=limit, task_manager=task_manager(data_dir),
                          log_samples=False, bootstrap_iters=0, random_seed=seed, numpy_random_seed=seed,
                          torch_random_seed=seed, fewshot_random_seed=seed)
    return out["results"]


def rows_from(results: dict, shots: int, data_dir: Path, limit: int | None) -> list[dict]:
    """One row per task: the raw score (0-100), its baseline and the normalised score."""
    rows = []
    for name, task in polish_tasks.TASKS.items():
        if name not in results:
            continue
        res = results[name]
        raw = res[f"{task.metric},none"]
        gold = None
        if task.kind == "multiple_choice":  # the harness's limit scores the first N documents
            test, _ = polish_tasks.docs(name, data_dir)
            gold = [d["label"] for d in test[:limit or None]]
        b = polish_tasks.baseline(task, gold)
        lb = task.leaderboard_b
        rows.append({"task": name, "shots": shots, "metric": task.metric_title, "score": 100 * raw,
                     "baseline": 100 * b, "leaderboard b": None if lb is None else 100 * lb,
                     "normalised": polish_tasks.normalise(raw, b),
                     **{m: 100 * res[f"{m},none"] for m in task.extra_metrics}})
    return rows


def heldout_perplexity(model, tok, texts: list[str], context: int, rows: int) -> float:
    from bielik.pretrain.mixture import heldout_rows
    from bielik.training.curves import mean_loss

    return math.exp(mean_loss(model, heldout_rows(tok, texts, context, rows)))


def weights_fingerprint(model_dir) -> str:
    """sha256 of a model folder's safetensors files: the same weights, wherever they were copied to."""
    import hashlib

    h = hashlib.sha256()
    for path in sorted(Path(model_dir).glob("*.safetensors")):
        with open(path, "rb") as f:
            while chunk := f.read(1 << 24):
                h.update(chunk)
    return h.hexdigest()


def earlier_rows(run: Path, fingerprint: str, limit: int | None, seed: int, data_dir: Path) -> dict[int, list[dict]]:
    """Task rows an earlier evaluation in this run already computed for the same weights, documents and seed, by
    shot count: chapter 09 then scores only what the chapters did not."""
    found: dict[int, list[dict]] = {}
    for path in sorted(Path(run).glob(f"*/{EVAL_DIR}/*.json")):
        r = read_json(path)
        if (r.get("fingerprint") == fingerprint and r.get("limit") == limit and r.get("seed") == seed
                and r.get("data_dir") == str(data_dir)):
            for row in r["rows"]:
                have = found.setdefault(row["shots"], [])
                if not any(x["task"] == row["task"] for x in have):
                    have.append(row)
    return found


def evaluate(ch, model_dir, stage: str, *, tasks: list[str] | None = None, shots: tuple[int, ...] = (0, 5),
             limit: int | None = None, heldout_texts: list[str] | None = None, heldout_rows: int = 16,
             batch_size: int = 16, data_dir: Path | None = None, reuse: bool = False) -> dict:
    """Score the model in `model_dir` as `stage` (e.g. "pretrained", "sft"): every task at every shot count,
    the normalised averages and the held-out perplexity. Records them and returns the stage's result. With
    `reuse`, a shot count that an earlier chapter of the run scored on the same weights (same documents, seed and
    every task) is taken from there instead of run again."""
    from bielik.book.paths import repo_root
    from bielik.model.storage import load_model, load_tokenizer

    data_dir = Path(data_dir or repo_root() / "data")
    model = load_model(model_dir)  # a folder that is not a model fails here, naming what is missing
    tok = load_tokenizer(model_dir)
    lm = lm_for(model, tok, batch_size)
    fingerprint = weights_fingerprint(model_dir)
    wanted = set(tasks or polish_tasks.TASKS)
    earlier = earlier_rows(ch.run, fingerprint, limit, ch.seed, data_dir) if reuse else {}
    start, rows, reused = time.perf_counter(), [], []
    for k in shots:
        if {r["task"] for r in earlier.get(k, [])} >= wanted:
            rows += [r for r in earlier[k] if r["task"] in wanted]
            reused.append(k)
        else:
            rows += rows_from(run_tasks(lm, tasks, k, limit, data_dir, ch.seed), k, data_dir, limit)
    perplexity = None
    if heldout_texts:
        context = min(getattr(model.config, "max_position_embeddings", 512), 512)
        perplexity = heldout_perplexity(model, tok, heldout_texts, context, heldout_rows)
    return _finish(ch, stage, rows, shots, {"model": str(Path(model_dir)), "limit": limit, "fingerprint": fingerprint,
                                            "seed": ch.seed, "data_dir": str(data_dir), "reused_shots": reused},
                   start, perplexity)


def evaluate_gguf(ch, gguf_path, model_dir, stage: str, *, tasks: list[str] | None = None,
                  shots: tuple[int, ...] = (0,), limit: int | None = None, batch_size: int = 16,
                  data_dir: Path | None = None) -> dict:
    """Score a GGUF file as `stage` on the same tasks, with lm-eval's own request handling and llama.cpp computing
    every forward pass and generated token (`bielik.deploy.llama_cpp.GGUFCalls`), in a child process. `model_dir` is the
    model folder the file was converted from: its tokenizer turns text into the same ids as for transformers."""
    from bielik.book.paths import repo_root
    from bielik.deploy.llama_cpp import in_child

    data_dir = Path(data_dir or repo_root() / "data")
    start = time.perf_counter()
    job = {"model": str(gguf_path), "model_dir": str(model_dir), "tasks": tasks, "shots": list(shots),
           "limit": limit, "data_dir": str(data_dir), "seed": ch.seed, "batch_size": batch_size}
    by_shot = in_child(job, "bielik.evaluation.harness:gguf_job")
    rows = [r for k in shots for r in rows_from(by_shot[str(k)], k, data_dir, limit)]
    return _finish(ch, stage, rows, shots, {"model": str(Path(gguf_path)), "limit": limit, "seed": ch.seed,
                                            "data_dir": str(data_dir), "reused_shots": []}, start, None)


def gguf_job(job: dict) -> dict:
    """The child's side of `evaluate_gguf`: lm-eval's `results` for each shot count ({"0": ...}), with HFLM's
    request handling and llama.cpp (`GGUFCalls`) computing the logits."""
    from bielik.book.session import go_offline
    from bielik.deploy.llama_cpp import GGUFCalls, open_gguf
    from bielik.model.storage import load_model, load_tokenizer

    go_offline()
    model = load_model(job["model_dir"])
    context = model.config.max_position_embeddings
    calls = type("Calls", (GGUFCalls,), {"llama": open_gguf(job["model"], context)})
    lm = lm_for(model, load_tokenizer(job["model_dir"]), job["batch_size"], calls=calls)
    return {str(k): run_tasks(lm, job["tasks"], k, job["limit"], Path(job["data_dir"]), job["seed"])
            for k in job["shots"]}


def _finish(ch, stage: str, rows: list[dict], shots, about: dict, start: float, perplexity: float | None) -> dict:
    """A stage's result: averages per shot count, written to the chapter's eval folder and recorded."""
    averages = {k: sum(r["normalised"] for r in rows if r["shots"] == k) / max(1, sum(r["shots"] == k for r in rows))
                for k in shots}
    result = {"stage": stage, "chapter": ch.chapter.id, **about, "rows": rows,
              "average": {str(k): v for k, v in averages.items()},
              "seconds": time.perf_counter() - start, "finished": time.time()}
    if perplexity is not None:
        result["perplexity"] = perplexity
    write_json(ch.dir / EVAL_DIR / f"{stage}.json", result)
    for k, v in averages.items():
        ch.record(f"{stage}: harness average, {k}-shot", round(v, 2), "normalised points")
    if perplexity is not None:
        ch.record(f"{stage}: held-out Polish perplexity", round(perplexity, 2))
    return result


def stages(run: Path) -> list[dict]:
    """Every stage scored so far in this run, in chapter order, then in the order each chapter scored them."""
    found = [read_json(p) for p in Path(run).glob(f"*/{EVAL_DIR}/*.json")]
    return sorted(found, key=lambda r: (r["chapter"], r["finished"]))


def stage(ch, chapter: str, name: str) -> dict:
    """A stage an earlier chapter scored; if missing, an error naming the chapter to run."""
    return read_json(ch.require(chapter, f"{EVAL_DIR}/{name}.json"))


def table(results: list[dict] | dict, shots: int | None = None):
    """Task x stage table of normalised scores (pandas), with the average as the last row."""
    import pandas as pd

    results = [results] if isinstance(results, dict) else results
    frame = pd.DataFrame([{**r, "stage": res["stage"]} for res in results for r in res["rows"]])
    if shots is not None:
        frame = frame[frame.shots == shots]
    return frame


def pivot(results: list[dict] | dict, values: str = "normalised", shots: int | None = None,
          order: list[str] | None = None, average: bool = False):
    """The task x stage table of one column of `table` (normalised score, raw score...) at `shots` (None: the
    only shot count there is), stages in `order` (default: as scored); `average` adds the mean as a last row."""
    frame = table(results, shots)
    if shots is None and frame.shots.nunique() > 1:
        raise ValueError(f"these results hold {sorted(frame.shots.unique())}-shot rows: say which with shots=")
    out = frame.pivot(index="task", columns="stage", values=values)
    out = out[order or list(dict.fromkeys(frame.stage))].astype(float)  # scores, and a mean row that need not be whole
    if average:
        out.loc["average"] = out.mean()
    return out


def recorded_average(run: Path, chapter: str, stage: str, shots: int) -> float:
    return figures.get(run, chapter, f"{stage}: harness average, {shots}-shot")
