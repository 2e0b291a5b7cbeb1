"""Score a model on the Polish tasks through EleutherAI's lm-evaluation-harness: the one call chapters 04-09 make.

`evaluate(ch, model_dir, stage)` runs the task YAMLs of bielik/evaluation/tasks/ (0- and 5-shot), normalises each score to
its baseline as the Open PL LLM Leaderboard does, adds the yardsticks a small model can move (the grammar track
and bits per byte, `grammar`, kept out of the leaderboard average) and the held-out Polish perplexity, and writes
it all to runs/<scale>/<chapter>/eval/<stage>.json (chapter 09 reads every stage from there) and to the chapter's
metrics, under the names `bielik.report.figure_names` gives.
"""
from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

from bielik.book import figures
from bielik.book.artifacts import read_json, write_json
from bielik.book.scales import reads_hub_tasks, yardstick_sizes
from bielik.evaluation import grammar, polish_tasks
from bielik.report import figure_names
from bielik.training import device

TASKS_DIR = Path(__file__).parent / "tasks"
EVAL_DIR = "eval"  # runs/<scale>/<chapter>/eval/<stage>.json
ALL_TASKS = [*polish_tasks.TASKS, *grammar.TRACK, grammar.HELDOUT_TASK]


# the names each scored stage records its figures under
average_name, grammar_name, bits_name = figure_names.average, figure_names.grammar, figure_names.bits


def _quiet() -> None:
    """lm-eval logs every request batch and draws progress bars; the chapters show the table instead."""
    for name in ("lm-eval", "lm_eval"):
        logging.getLogger(name).setLevel(logging.ERROR)


def task_manager(data_dir: Path | None = None, heldout: Path | None = None, pairs: Path | None = None,
                 hub_scale: str | None = None):
    """lm-eval's TaskManager over our task folder; `data_dir`, `heldout` (the pl_heldout documents), `pairs`
    (the grammar track's chosen pairs) and `hub_scale` (read the hub sets, scales.HUB_TASK_SETS) reach the tasks'
    data hook through its metadata."""
    from lm_eval.tasks import TaskManager

    _quiet()
    meta = {k: str(v) for k, v in (("data_dir", data_dir), ("heldout", heldout), ("pairs", pairs),
                                   ("hub_scale", hub_scale)) if v} or None
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

        def _loglikelihood_tokens(self, requests, disable_tqdm: bool = False, **kw):
            # HFLM's loglikelihood_rolling asks for this bar with disable_tqdm=False, whatever it was given
            return super()._loglikelihood_tokens(requests, disable_tqdm=True, **kw)

        def generate_until(self, requests, disable_tqdm: bool = False):
            return super().generate_until(requests, disable_tqdm=True)

    _quiet()
    return QuietHFLM(pretrained=model, tokenizer=tok, batch_size=batch_size, device=str(model.device),
                     max_length=getattr(model.config, "max_position_embeddings", None))


# lm-eval's standard errors: closed-form for mean metrics (acc, exact_match: sqrt(p(1 - p) / (n - 1))); our F1
# aggregations and the held-out perplexities are not in its bootstrappable list, so they get none and nothing
# is resampled (0 would turn every standard error off)
STDERR_BOOTSTRAP = 100


def run_tasks(lm, tasks: list[str] | None = None, shots: int = 0, limit: int | None = None,
              data_dir: Path | None = None, seed: int = 0, heldout: Path | None = None,
              pairs: Path | None = None, hub_scale: str | None = None) -> dict:
    """lm-eval's simple_evaluate on our tasks (default: the leaderboard's); returns its `results` section
    (task -> metric -> value)."""
    from lm_eval import simple_evaluate

    tasks = list(tasks or polish_tasks.TASKS)
    unknown = [t for t in tasks if t not in ALL_TASKS]
    if unknown:
        raise KeyError(f"unknown task(s) {', '.join(unknown)}; the tasks are: {', '.join(ALL_TASKS)}")
    out = simple_evaluate(model=lm, tasks=tasks, num_fewshot=shots, limit=limit,
                          task_manager=task_manager(data_dir, heldout, pairs, hub_scale),
                          log_samples=False, bootstrap_iters=STDERR_BOOTSTRAP, random_seed=seed,
                          numpy_random_seed=seed, torch_random_seed=seed, fewshot_random_seed=seed)
    return out["results"]


def rows_from(results: dict, shots: int, data_dir: Path, limit: int | None, hub_scale: str | None = None) -> list[dict]:
    """One row per task: the raw score (0-100), its baseline and the normalised score."""
    rows = []
    for name, task in polish_tasks.TASKS.items():
        if name not in results:
            continue
        res = results[name]
        raw = res[f"{task.metric},none"]
        gold = None
        if task.kind == "multiple_choice":  # the harness's limit scores the first N documents
            test, _ = polish_tasks.docs(name, data_dir, hub_scale)
            gold = [d["label"] for d in test[:limit or None]]
        b = polish_tasks.baseline(task, gold)
        lb = task.leaderboard_b
        se = res.get(f"{task.metric}_stderr,none")
        rows.append({"task": name, "shots": shots, "metric": task.metric_title, "score": 100 * raw,
                     "baseline": 100 * b, "leaderboard b": None if lb is None else 100 * lb,
                     "normalised": polish_tasks.normalise(raw, b),
                     # in normalised points; None where lm-eval gives none (F1)
                     "normalised stderr": 100 * se / (1 - b) if isinstance(se, (int, float)) else None,
                     **{m: 100 * res[f"{m},none"] for m in task.extra_metrics}})
    return rows


def heldout_perplexity(model, tok, texts: list[str], context: int, rows: int) -> float:
    from bielik.pretrain.mixture import heldout_rows
    from bielik.training.curves import mean_loss

    return math.exp(mean_loss(model, heldout_rows(tok, texts, context, rows)))


def yardstick_plan(ch, tok, context: int, data_dir: Path, heldout_texts: list[str] | None,
                   unigram_texts: list[str] | None = None) -> dict:
    """What the grammar track and bits per byte will score at this scale (`scales.yardstick_sizes`), prepared in the
    chapter's process: the pairs per task that fit the model's `context`, written to the file the track's tasks
    read, their unigram baselines with `tok` counted on `unigram_texts` (default: chapter 01's Polish pretraining
    text), and the held-out documents written to the file the pl_heldout task reads. JSON-able, so a child process
    (llama.cpp) can run it."""
    sizes = yardstick_sizes(ch.scale.name)
    chosen, too_long = grammar.select(tok, data_dir, sizes["grammar_pairs"] or None, context - 1)
    pairs, digest = grammar.write_pairs(chosen, ch.dir / EVAL_DIR / "grammar-pairs.jsonl")
    unigram_texts = unigram_texts or grammar.pretraining_texts(ch)
    plan = {"grammar_pairs": sizes["grammar_pairs"], "pairs": str(pairs), "pairs_digest": digest,
            "too_long": too_long, "heldout": None, "text": None,
            "unigram": grammar.unigram_baselines(tok, unigram_texts, chosen)}
    if heldout_texts:
        sample = grammar.heldout_sample(heldout_texts, sizes["heldout_bytes"])
        path, digest = grammar.write_heldout(sample, ch.dir / EVAL_DIR / "heldout-text.jsonl")
        plan.update(heldout=str(path), text=digest, documents=len(sample),
                    bytes=sum(len(t.encode()) for t in sample),
                    unigram_bits=grammar.unigram_bits(tok, unigram_texts, sample))
    return plan


def run_yardsticks(lm, plan: dict, data_dir: Path, seed: int) -> dict:
    """lm-eval's results of the grammar track and, if the plan has held-out text, of pl_heldout."""
    out = {"grammar": run_tasks(lm, list(grammar.TRACK), 0, None, data_dir, seed, pairs=plan["pairs"])}
    if plan["heldout"]:
        out["heldout"] = run_tasks(lm, [grammar.HELDOUT_TASK], 0, None, data_dir, seed, heldout=plan["heldout"])
    return out


def yardsticks(plan: dict, raw: dict) -> dict:
    """A stage's grammar track (per feature and overall, against its unigram baseline) and bits per byte."""
    out = {"grammar_pairs": plan["grammar_pairs"], "pairs_digest": plan["pairs_digest"],
           "too_long": plan["too_long"], "grammar": grammar.track_result(raw["grammar"], plan["unigram"])}
    if plan["heldout"]:
        r = raw["heldout"][grammar.HELDOUT_TASK]
        out["bits"] = {"bits_per_byte": r["bits_per_byte,none"], "byte_perplexity": r["byte_perplexity,none"],
                       "word_perplexity": r["word_perplexity,none"], "documents": plan["documents"],
                       "bytes": plan["bytes"], "text": plan["text"], "unigram": plan.get("unigram_bits")}
    return out


def earlier_yardsticks(run: Path, fingerprint: str, seed: int, data_dir: Path, plan: dict) -> dict | None:
    """The yardsticks an earlier evaluation in this run measured for the same weights, pairs and held-out text."""
    for path in sorted(Path(run).glob(f"*/{EVAL_DIR}/*.json")):
        r = read_json(path)
        y = r.get("yardsticks") or {}
        if (r.get("fingerprint") == fingerprint and r.get("seed") == seed and r.get("data_dir") == str(data_dir)
                and y.get("pairs_digest") == plan["pairs_digest"]
                and (y.get("bits") or {}).get("text") == plan["text"]):
            return y
    return None


def weights_fingerprint(model_dir) -> str:
    """sha256 of a model folder's safetensors files: the same weights, wherever they were copied to."""
    import hashlib

    h = hashlib.sha256()
    for path in sorted(Path(model_dir).glob("*.safetensors")):
        with open(path, "rb") as f:
            while chunk := f.read(1 << 24):
                h.update(chunk)
    return h.hexdigest()


def earlier_rows(run: Path, fingerprint: str, limit: int | None, seed: int, data_dir: Path,
                 task_data: str) -> dict[int, list[dict]]:
    """Task rows an earlier evaluation in this run already computed for the same weights, documents and seed, by
    shot count: chapter 09 then scores only what the chapters did not."""
    found: dict[int, list[dict]] = {}
    for path in sorted(Path(run).glob(f"*/{EVAL_DIR}/*.json")):
        r = read_json(path)
        if (r.get("fingerprint") == fingerprint and r.get("limit") == limit and r.get("seed") == seed
                and r.get("data_dir") == str(data_dir) and r.get("task_data", "repository") == task_data):
            for row in r["rows"]:
                have = found.setdefault(row["shots"], [])
                if not any(x["task"] == row["task"] for x in have):
                    have.append(row)
    return found


def task_source(ch) -> tuple[str | None, str]:
    """(hub_scale for the tasks' data hook, what the record says): the hub sets at small and full, else the
    repository's files."""
    scale = ch.scale.name
    return (scale, "hub") if reads_hub_tasks(scale) else (None, "repository")


def evaluate(ch, model_dir, stage: str, *, tasks: list[str] | None = None, shots: tuple[int, ...] = (0, 5),
             limit: int | None = None, heldout_texts: list[str] | None = None, heldout_rows: int = 16,
             batch_size: int = 16, data_dir: Path | None = None, reuse: bool = False,
             unigram_texts: list[str] | None = None) -> dict:
    """Score the model in `model_dir` as `stage` (e.g. "pretrained", "sft"): every task at every shot count,
    the normalised averages, the grammar track, and with `heldout_texts` bits per byte and the held-out
    perplexity. Records them and returns the stage's result. With `reuse`, a shot count (or the yardsticks) that an
    earlier chapter of the run scored on the same weights (same documents, seed and every task) is taken from there
    instead of run again."""
    from bielik.book.paths import repo_root
    from bielik.model.storage import load_model, load_tokenizer

    data_dir = Path(data_dir or repo_root() / "data")
    hub_scale, task_data = task_source(ch)
    model = device.for_inference(load_model(model_dir))  # a folder that is not a model fails here, naming it
    tok = load_tokenizer(model_dir)
    lm = lm_for(model, tok, batch_size)
    fingerprint = weights_fingerprint(model_dir)
    wanted = set(tasks or polish_tasks.TASKS)
    earlier = earlier_rows(ch.run, fingerprint, limit, ch.seed, data_dir, task_data) if reuse else {}
    start, rows, reused = time.perf_counter(), [], []
    for k in shots:
        if {r["task"] for r in earlier.get(k, [])} >= wanted:
            rows += [r for r in earlier[k] if r["task"] in wanted]
            reused.append(k)
        else:
            rows += rows_from(run_tasks(lm, tasks, k, limit, data_dir, ch.seed, hub_scale=hub_scale), k, data_dir,
                              limit, hub_scale)
    plan = yardstick_plan(ch, tok, lm.max_length, data_dir, heldout_texts, unigram_texts)
    found = earlier_yardsticks(ch.run, fingerprint, ch.seed, data_dir, plan) if reuse else None
    measured = found or yardsticks(plan, run_yardsticks(lm, plan, data_dir, ch.seed))
    perplexity = None
    if heldout_texts:
        context = min(getattr(model.config, "max_position_embeddings", 512), 512)
        perplexity = heldout_perplexity(model, tok, heldout_texts, context, heldout_rows)
    return _finish(ch, stage, rows, shots, {"model": str(Path(model_dir)), "limit": limit, "fingerprint": fingerprint,
                                            "seed": ch.seed, "data_dir": str(data_dir), "task_data": task_data,
                                            "reused_shots": reused,
                                            "yardsticks": measured, "reused_yardsticks": found is not None},
                   start, perplexity)


def evaluate_gguf(ch, gguf_path, model_dir, stage: str, *, tasks: list[str] | None = None,
                  shots: tuple[int, ...] = (0,), limit: int | None = None, batch_size: int = 16,
                  data_dir: Path | None = None, heldout_texts: list[str] | None = None,
                  unigram_texts: list[str] | None = None) -> dict:
    """Score a GGUF file as `stage` on the same tasks and yardsticks, with lm-eval's own request handling and
    llama.cpp computing every forward pass and generated token (`bielik.deploy.llama_cpp.GGUFCalls`), in a child
    process. `model_dir` is the model folder the file was converted from: its tokenizer turns text into the same
    ids as for transformers."""
    from bielik.book.paths import repo_root
    from bielik.deploy.llama_cpp import in_child
    from bielik.model.storage import load_tokenizer

    data_dir = Path(data_dir or repo_root() / "data")
    hub_scale, task_data = task_source(ch)
    if hub_scale:  # the hub sets into the cache here: the child process runs with the hub off
        for name in tasks or polish_tasks.TASKS:
            polish_tasks.docs(name, data_dir, hub_scale)
    start = time.perf_counter()
    config = json.loads((Path(model_dir) / "config.json").read_text())
    plan = yardstick_plan(ch, load_tokenizer(model_dir), config["max_position_embeddings"], data_dir, heldout_texts,
                          unigram_texts)
    job = {"model": str(gguf_path), "model_dir": str(model_dir), "tasks": tasks, "shots": list(shots),
           "limit": limit, "data_dir": str(data_dir), "hub_scale": hub_scale, "seed": ch.seed,
           "batch_size": batch_size, "plan": plan}
    by_shot = in_child(job, "bielik.evaluation.harness:gguf_job")
    rows = [r for k in shots for r in rows_from(by_shot[str(k)], k, data_dir, limit, hub_scale)]
    return _finish(ch, stage, rows, shots, {"model": str(Path(gguf_path)), "limit": limit, "seed": ch.seed,
                                            "data_dir": str(data_dir), "task_data": task_data, "reused_shots": [],
                                            "yardsticks": yardsticks(plan, by_shot["yardsticks"]),
                                            "reused_yardsticks": False}, start, None)


def gguf_job(job: dict) -> dict:
    """The child's side of `evaluate_gguf`: lm-eval's `results` for each shot count ({"0": ...}) and of the
    yardsticks ({"yardsticks": ...}), with HFLM's request handling and llama.cpp (`GGUFCalls`) computing the
    logits."""
    from bielik.book.session import go_offline
    from bielik.deploy.llama_cpp import GGUFCalls, open_gguf
    from bielik.model.storage import load_model, load_tokenizer

    go_offline()
    model = load_model(job["model_dir"])
    context = model.config.max_position_embeddings
    calls = type("Calls", (GGUFCalls,), {"llama": open_gguf(job["model"], context)})
    lm = lm_for(model, load_tokenizer(job["model_dir"]), job["batch_size"], calls=calls)
    out = {str(k): run_tasks(lm, job["tasks"], k, job["limit"], Path(job["data_dir"]), job["seed"],
                             hub_scale=job["hub_scale"]) for k in job["shots"]}
    return {**out, "yardsticks": run_yardsticks(lm, job["plan"], Path(job["data_dir"]), job["seed"])}


def average_stderr(rows: list[dict], shots: int) -> tuple[float | None, list[str]]:
    """The standard error of the normalised average of `shots`-shot rows, the tasks taken as independent:
    sqrt(sum of the tasks' squared standard errors) / tasks. Tasks without one (F1) add nothing, so with them it
    is a lower bound; they are returned by name. None when no task has one (rows scored before lm-eval's
    standard errors were kept)."""
    rows = [r for r in rows if r["shots"] == shots]
    have = [r["normalised stderr"] for r in rows if r.get("normalised stderr") is not None]
    return (math.sqrt(sum(se * se for se in have)) / len(rows) if have else None,
            [r["task"] for r in rows if r.get("normalised stderr") is None])


def _finish(ch, stage: str, rows: list[dict], shots, about: dict, start: float, perplexity: float | None) -> dict:
    """A stage's result: averages per shot count, written to the chapter's eval folder and recorded."""
    averages = {k: sum(r["normalised"] for r in rows if r["shots"] == k) / max(1, sum(r["shots"] == k for r in rows))
                for k in shots}
    errors = {k: average_stderr(rows, k) for k in shots}
    result = {"stage": stage, "chapter": ch.chapter.id, **about, "rows": rows,
              "average": {str(k): v for k, v in averages.items()},
              "average_stderr": {str(k): se for k, (se, _) in errors.items()},
              "tasks_without_stderr": sorted({t for _, missing in errors.values() for t in missing}),
              "seconds": time.perf_counter() - start, "finished": time.time()}
    if perplexity is not None:
        result["perplexity"] = perplexity
    write_json(ch.dir / EVAL_DIR / f"{stage}.json", result)
    for k, v in averages.items():
        ch.record(average_name(stage, k), round(v, 2), "normalised points")
    track = about["yardsticks"]["grammar"]
    ch.record(grammar_name(stage, "accuracy"), round(track["accuracy"], 2), "%", note=f"{track['pairs']} pairs")
    ch.record(grammar_name(stage, "unigram"), round(track["unigram"], 2), "%", note="a unigram model, same tokenizer")
    if track["normalised"] is not None:
        ch.record(grammar_name(stage), round(track["normalised"], 2), "points above the unigram baseline")
    if "bits" in about["yardsticks"]:
        bits = about["yardsticks"]["bits"]
        ch.record(bits_name(stage), round(bits["bits_per_byte"], 4), "bits/byte",
                  note=f"{bits['bytes']:,} bytes of held-out Polish text")
        if bits.get("unigram") is not None:  # the same for every stage with this tokenizer and text
            ch.record(figure_names.UNIGRAM_BITS, round(bits["unigram"], 4), "bits/byte",
                      note="a unigram model, same tokenizer and held-out text")
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
    return figures.get(run, chapter, average_name(stage, shots))


def yardstick_table(results: list[dict] | dict):
    """Stage x yardstick table: the grammar track's accuracy per feature and overall, its unigram baseline and
    normalised score, and bits per byte (pandas)."""
    import pandas as pd

    rows = {}
    for res in [results] if isinstance(results, dict) else results:
        y = res.get("yardsticks")
        if y is None:  # scored before the yardsticks existed: rerun its chapter to fill the row
            continue
        g = y["grammar"]
        row = {f"{f} (%)": v["accuracy"] for f, v in g["features"].items()}
        row |= {"all pairs (%)": g["accuracy"], "unigram (%)": g["unigram"], "normalised": g["normalised"],
                "bits/byte": (y.get("bits") or {}).get("bits_per_byte"),
                "bits/byte, unigram": (y.get("bits") or {}).get("unigram")}
        rows[res["stage"]] = row
    return pd.DataFrame(rows).T.astype(float)
