"""The Polish evaluation tasks: what each one asks, its data in data/, its metric and its baseline.

The Open PL LLM Leaderboard (report §6) runs lm-evaluation-harness on Polish tasks and normalises each score to
the task's majority-class baseline b: norm = 100 (s - b) / (1 - b). The leaderboard's tasks read the Hub. At `ci`
and `tiny` these read the copies the repository ships, through readers that name the file and line of a malformed
row; at `small` and `full` the five whose sets the leaderboard's harness reads from the hub read those (HUB_ROWS),
from the Hugging Face cache that `bielik fetch` fills. The task YAMLs in bielik/evaluation/tasks/ (the real
harness's format) call `docs` below through their `custom_dataset` hook.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bielik.book.scales import HUB_TASK_SETS, reads_hub_tasks
from bielik.data.instructions import read_quiz
from bielik.data.readers import DataError, open_text, read_dyk, read_tsv

LETTERS = "ABCDEFGH"


@dataclass(frozen=True)
class Task:
    name: str  # the lm-eval task name
    title: str
    kind: str  # "multiple_choice" or "generate_until"
    metric: str  # the key lm-eval reports that the leaderboard averages
    metric_title: str
    labels: tuple[str, ...] = ()  # class names, in choice order (multiple choice only)
    leaderboard_b: float | None = None  # the leaderboard's b for its own test split (about.py), for reference
    prompt: str = ""  # where the prompt comes from
    data: str = ""
    extra_metrics: tuple[str, ...] = field(default=())


TASKS: dict[str, Task] = {t.name: t for t in [
    Task("polemo2_out", "PolEmo 2.0-OUT: review sentiment, out of domain", "multiple_choice", "acc", "accuracy",
         ("Neutralny", "Negatywny", "Pozytywny", "Niejednoznaczny"), 0.368, "the report (§6)",
         "klej/klej_polemo2.0-out/dev.tsv.gz (494 reviews; 40 kept apart for few-shot examples)"),
    Task("klej_ner", "KLEJ NKJP-NER: the type of a sentence's named entity", "multiple_choice", "acc", "accuracy",
         ("brak", "miejsce", "osoba", "organizacja", "czas", "nazwa geograficzna"), None,
         "ours, in the report's style", "klej/klej_nkjp-ner/dev.tsv.gz (few-shot from train)"),
    Task("polish_8tags", "8TAGS: the topic of a headline", "multiple_choice", "acc", "accuracy",
         ("film", "historia", "jedzenie", "medycyna", "motoryzacja", "praca", "sport", "technologie"), 0.143,
         "ours, in the report's style", "8tags/test.txt.gz (few-shot from dev)"),
    Task("cbd", "CBD: cyberbullying in a tweet", "multiple_choice", "f1", "macro F1", ("Nie", "Tak"), None,
         "the leaderboard's harness (polish_cbd_multiple_choice)", "klej/klej_cbd/dev.tsv.gz (few-shot from train)"),
    Task("dyk", "DYK (Czy wiesz?): does the sentence answer the question", "multiple_choice", "f1", "binary F1",
         ("Nie", "Tak"), 0.289, "ours, in the report's style", "klej/klej_dyk/dev.tsv.gz (few-shot from train)"),
    Task("ppc", "PPC: are the two sentences paraphrases", "multiple_choice", "acc", "accuracy",
         ("dokładna parafraza", "bliska parafraza", "brak parafrazy"), None, "ours, in the report's style",
         "sdadas_ppc/test.txt.gz (few-shot from dev)"),
    Task("quiz_qa", "PolEval 2021 quiz: closed-book questions, generated answer", "generate_until", "levenshtein",
         "Levenshtein similarity", (), 0.0, "the leaderboard's polqa closed book",
         "poleval2021_quiz_qa/test-A (few-shot from dev-0)", ("exact_match",)),
]}

POLEMO = {"__label__meta_zero": 0, "__label__meta_minus_m": 1, "__label__meta_plus_m": 2, "__label__meta_amb": 3}
NER = {"noEntity": 0, "placeName": 1, "persName": 2, "orgName": 3, "time": 4, "geogName": 5}
PPC = {"1": 0, "2": 1, "3": 2}
FEWSHOT_KEPT_APART = 40  # PolEmo-OUT ships only its dev split: these reviews serve as few-shot examples


def _labelled(path: Path, columns: int, text_cols, label_col: int, mapping: dict | None, header: bool) -> list[dict]:
    docs = []
    for n, row in read_tsv(path, columns):
        if header and n == 1:
            continue
        raw = row[label_col].strip()
        label = mapping.get(raw) if mapping is not None else (int(raw) if raw in ("0", "1") else None)
        if label is None:
            raise DataError(f"{path}, line {n}: unknown label {raw!r}"
                            + (f" (expected one of {', '.join(mapping)})" if mapping else " (expected 0 or 1)"))
        texts = [row[i].strip() for i in text_cols]
        if not all(texts):
            raise DataError(f"{path}, line {n}: empty text field")
        docs.append({**dict(zip(("text", "text_b"), texts)), "label": label})
    return docs


def _eight_tags(path: Path) -> list[dict]:
    docs = []
    with open_text(path) as f:
        for n, line in enumerate(f, 1):
            label, _, text = line.rstrip("\n").partition(" ")
            if label not in {str(i) for i in range(8)} or not text.strip():
                raise DataError(f"{path}, line {n}: expected '<label 0-7> <headline>', got {line[:60]!r}")
            docs.append({"text": text.strip(), "label": int(label)})
    return docs


def _quiz(folder: Path, split: str) -> list[dict]:
    return [{"question": q, "answers": a} for q, a in read_quiz(folder, split)]


def _shuffled(docs: list[dict], seed: int = 1234) -> list[dict]:
    """Files are often sorted by label; the harness's `limit` takes the first N, so spread them first."""
    docs = list(docs)
    random.Random(seed).shuffle(docs)
    return docs


# --- the hub's copies (small, full) ---------------------------------------------------------------------------

def _label(mapping: dict, value):
    if value not in mapping:
        raise KeyError(f"unknown label {value!r} (expected one of {', '.join(map(str, mapping))})")
    return mapping[value]


# A row of each hub set (scales.HUB_TASK_SETS names them) as our document ({"text", "text_b", "label"}), in the
# columns of the leaderboard's harness (lm_eval/tasks/{polemo2,polish_klej_ner,polish_8tags,polish_dyk,polish_ppc}).
# Its CBD is a six-class relabelling of another set, and the quiz has no hub copy there: those two stay on the
# repository's files.
HUB_ROWS: dict[str, Callable[[dict], dict]] = {
    "polemo2_out": lambda r: {"text": r["sentence"], "label": _label(POLEMO, r["target"])},
    "klej_ner": lambda r: {"text": r["sentence"], "label": _label(NER, r["target"])},
    "polish_8tags": lambda r: {"text": r["sentence"], "label": _label({i: i for i in range(8)}, int(r["label"]))},
    "dyk": lambda r: {"text": r["question"], "text_b": r["answer"], "label": _label({0: 0, 1: 1}, int(r["target"]))},
    "ppc": lambda r: {"text": r["sentence_A"], "text_b": r["sentence_B"],
                      "label": _label({1: 0, 2: 1, 3: 2}, int(r["label"]))},
}
assert set(HUB_ROWS) == set(HUB_TASK_SETS), "every hub set needs its row reader"


def reads_hub(scale: str | None, name: str) -> bool:
    return reads_hub_tasks(scale) and name in HUB_TASK_SETS


def _split_files(files: list[Path], split: str) -> list[Path]:
    return [f for f in files if split in f.name or split in f.parent.name]


def data_source(name: str, scale: str | None) -> str:
    """Where a task's documents come from at `scale`, in words for a table."""
    if reads_hub(scale, name):
        return f"{HUB_TASK_SETS[name]} on the hub (test; few-shot from train)"
    return f"data/{TASKS[name].data}"


def hub_docs(name: str, scale: str) -> tuple[list[dict], list[dict]]:
    """(test documents, few-shot pool from train) of a task's hub set, from the cache (downloaded first where the
    hub is on). A row the task cannot read is an error naming the set, the file and the row."""
    import datasets

    from bielik.book import hub

    repo_id, read = HUB_TASK_SETS[name], HUB_ROWS[name]
    files = hub.files(hub.eval_asset(repo_id), scale)
    out = []
    for split in ("test", "train"):
        chosen = _split_files(files, split)
        if not chosen:
            raise DataError(f"hub set {repo_id}: no {split} file among {', '.join(f.name for f in files)} in "
                            f"{hub.cache_dir()}")
        docs = []
        for path in chosen:
            ext = path.suffix.lstrip(".")
            builder = {"jsonl": "json", "tsv": "csv"}.get(ext, ext)
            extra = {"sep": "\t"} if ext == "tsv" else {}
            rows = datasets.load_dataset(builder, data_files=str(path), split="train", **extra)
            for n, row in enumerate(rows):
                try:
                    docs.append(read(row))
                except (KeyError, ValueError, TypeError) as e:
                    raise DataError(f"hub set {repo_id}, {path.name}, row {n}: {e} "
                                    f"(the row: {dict(row)})") from None
        out.append(docs)
    return _shuffled(out[0]), out[1]


def docs(name: str, data_dir: Path, hub_scale: str | None = None) -> tuple[list[dict], list[dict]]:
    """(test documents, few-shot pool) of a task, read from data_dir, or with `hub_scale` (small, full) from the
    task's hub set where it has one."""
    if reads_hub(hub_scale, name):
        return hub_docs(name, hub_scale)
    d = Path(data_dir)
    klej = d / "klej"
    if name == "polemo2_out":
        all_docs = _shuffled(_labelled(klej / "klej_polemo2.0-out/dev.tsv.gz", 2, [0], 1, POLEMO, header=True))
        return all_docs[FEWSHOT_KEPT_APART:], all_docs[:FEWSHOT_KEPT_APART]
    if name == "klej_ner":
        read = lambda split: _labelled(klej / f"klej_nkjp-ner/{split}.tsv.gz", 2, [0], 1, NER, header=True)  # noqa: E731
        return _shuffled(read("dev")), read("train")
    if name == "polish_8tags":
        return _shuffled(_eight_tags(d / "8tags/test.txt.gz")), _eight_tags(d / "8tags/dev.txt.gz")
    if name == "cbd":
        read = lambda split: _labelled(klej / f"klej_cbd/{split}.tsv.gz", 2, [0], 1, None, header=False)  # noqa: E731
        return _shuffled(read("dev")), read("train")
    if name == "dyk":
        read = lambda split: [{"text": q, "text_b": s, "label": t}  # noqa: E731
                              for _, _, q, s, t in read_dyk(klej / f"klej_dyk/{split}.tsv.gz")]
        return _shuffled(read("dev")), read("train")
    if name == "ppc":
        read = lambda split: _labelled(d / f"sdadas_ppc/{split}.txt.gz", 3, [0, 1], 2, PPC, header=True)  # noqa: E731
        return _shuffled(read("test")), read("dev")
    if name == "quiz_qa":
        return _shuffled(_quiz(d / "poleval2021_quiz_qa", "test-A")), _quiz(d / "poleval2021_quiz_qa", "dev-0")
    raise KeyError(f"unknown task {name!r}; the tasks are: {', '.join(TASKS)}")


# --- metrics -------------------------------------------------------------------------------------------------

def binary_f1(gold: list[int], pred: list[int]) -> float:
    tp = sum(g == p == 1 for g, p in zip(gold, pred))
    fp = sum(p == 1 and g == 0 for g, p in zip(gold, pred))
    fn = sum(p == 0 and g == 1 for g, p in zip(gold, pred))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def macro_f1(gold: list[int], pred: list[int]) -> float:
    classes = sorted(set(gold) | set(pred))
    return sum(binary_f1([int(g == c) for g in gold], [int(p == c) for p in pred]) for c in classes) / len(classes)


def accuracy(gold: list[int], pred: list[int]) -> float:
    return sum(g == p for g, p in zip(gold, pred)) / max(len(gold), 1)


METRICS = {"accuracy": accuracy, "binary F1": binary_f1, "macro F1": macro_f1}


def constant_baseline(task: Task, gold: list[int]) -> float:
    """The best score a constant answer gets: the majority class for accuracy, the leaderboard's rule."""
    metric = METRICS[task.metric_title]
    return max(metric(gold, [c] * len(gold)) for c in range(len(task.labels)))


def baseline(task: Task, gold: list[int] | None = None) -> float:
    """The b of the normalisation: for a classification task the best constant answer on the documents scored
    (our test sets are not the leaderboard's, so its published b would be off); 0 for generated answers, as the
    leaderboard has it."""
    if task.kind == "generate_until":
        return 0.0
    if not gold:
        raise ValueError(f"{task.name}: pass the labels of the scored documents to compute its baseline")
    return constant_baseline(task, gold)


def normalise(score: float, b: float) -> float:
    """The leaderboard's normalisation to the majority-class baseline, in points: 0 = baseline, 100 = perfect."""
    return 100 * (score - b) / (1 - b)


def normalise_text(s: str) -> str:
    return " ".join(s.lower().strip().strip(".").split())


def levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def similarity(a: str, b: str) -> float:
    """1 - edit distance / the longer length, on lower-cased, space-normalised text."""
    a, b = normalise_text(a), normalise_text(b)
    if not a and not b:
        return 1.0
    return 1 - levenshtein(a, b) / max(len(a), len(b))


def answer_scores(prediction: str, answers: list[str]) -> dict[str, float]:
    """The leaderboard's QA scores against the best-matching accepted answer."""
    prediction = prediction.strip().split("\n")[0]
    return {"exact_match": float(any(normalise_text(prediction) == normalise_text(a) for a in answers)),
            "levenshtein": max(similarity(prediction, a) for a in answers)}
