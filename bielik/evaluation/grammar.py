"""Yardsticks a small model can move, reported beside the leaderboard's tasks: the grammar track and bits per byte.

The leaderboard's tasks need skills that models of a few million parameters do not have, so at `ci` and `tiny`
every stage scores near or below the constant answer and the claims that need task skill cannot be decided on
them. Two measurements can move at that size:

- **The grammar track**: subject-verb agreement minimal pairs (`minimal_pairs`), one lm-eval task per changed
  feature (pl_agreement_person, _number, _gender), and expert corrections (pl_corrections: a sentence of the
  Ermlab GEC data as the experts corrected it against the sentence with its errors, from the documents that
  `splits.gec_for_the_track` keeps away from chapters 05 and 06), each scored by likelihood, 0-shot, with an
  empty context. Its
  baseline is not 50%: a model that knows only token frequencies prefers the sentence whose changed word is commoner,
  so each pair set is normalised against a unigram model with the stage's tokenizer, counted on the Polish
  pretraining text: normalised = 100 (acc - acc_unigram) / (1 - acc_unigram).
- **Bits per byte** on held-out Polish text (lm-eval's `loglikelihood_rolling`, as the leaderboard's poleval2018
  perplexity task): bits = -sum log2 p(token) over the text / its UTF-8 bytes. It does not depend on the tokenizer,
  so stages with different tokenizers sit on one axis.

Neither enters the leaderboard average.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from bielik.book.artifacts import write_text
from bielik.evaluation import minimal_pairs

# lm-eval task -> the phenomenon its pairs test
TRACK = {**{f"pl_agreement_{f}": f for f in minimal_pairs.FEATURES}, "pl_corrections": "correction"}
HELDOUT_TASK = "pl_heldout"  # bits per byte; its documents come from a file written per evaluation
LICENCES = {"UD Polish PDB, dev": "CC BY-NC-SA 4.0", "UD Polish PUD, test": "CC BY-SA 4.0"}  # data/ud_polish/LICENSE-*
UNIGRAM_CHARS = 20_000_000  # a unigram's counts settle long before this; the cap keeps `full` from counting 41M docs


@lru_cache(maxsize=2)
def _agreement(data_dir: str) -> tuple[dict, ...]:
    sentences = minimal_pairs.read_treebanks(Path(data_dir) / "ud_polish")
    pairs, _ = minimal_pairs.balanced(minimal_pairs.agreement_pairs(sentences))
    return tuple(minimal_pairs.interleaved(pairs))


@lru_cache(maxsize=2)
def _corrections(data_dir: str) -> tuple[dict, ...]:
    from bielik.data.readers import DataError, read_jsonl
    from bielik.data.splits import gec_for_the_track

    path, out = Path(data_dir) / "polish_gec_ermlab" / "human_expert_gec_dataset.jsonl.gz", []
    for n, row in read_jsonl(path):
        good, bad = row.get("correct"), row.get("incorrect")
        if not isinstance(good, str) or not isinstance(bad, str) or "document_id" not in row:
            raise DataError(f"{path}, line {n}: needs 'correct', 'incorrect' and 'document_id'")
        if gec_for_the_track(row["document_id"]) and good.strip() and bad.strip() and good.strip() != bad.strip():
            out.append({"id": f"gec-{row['document_id']}-{row.get('sentence_id', n)}", "source": "gec",
                        "feature": "correction", "direction": "corrected->original", "good": good.strip(),
                        "bad": bad.strip()})
    return tuple(out)


def docs(task: str, data_dir: Path) -> list[dict]:
    """The pairs of one track task. Agreement pairs are balanced, in an order whose first N are balanced too (the
    harness's limit); corrections come in the file's order."""
    if task not in TRACK:
        raise KeyError(f"unknown grammar task {task!r}; the track's tasks are: {', '.join(TRACK)}")
    folder = str(Path(data_dir).resolve())
    if TRACK[task] == "correction":
        return list(_corrections(folder))
    return [p for p in _agreement(folder) if p["feature"] == TRACK[task]]


def pretraining_texts(ch) -> list[str]:
    """The Polish text the unigram baseline counts: chapter 01's filtered corpus without its held-out books and
    articles, the text chapters 03-04 pretrain on."""
    from bielik.pretrain.mixture import read_texts

    return read_texts(ch.require("01", "filtered.parquet"), "train", ch.seed)


def _capped(texts: list[str], chars: int) -> list[str]:
    out, total = [], 0
    for t in texts:
        if total >= chars:
            break
        out.append(t)
        total += len(t)
    return out


def select(tok, data_dir: Path, limit: int | None, max_tokens: int) -> tuple[dict[str, list[dict]], int]:
    """The pairs a stage is scored on, per track task: the first `limit` (None: all) whose two sentences fit the
    model's context (`max_tokens` of `tok`'s tokens; lm-eval scores a sentence whole or not at all), and how many
    were passed over as too long."""
    chosen, too_long = {}, 0
    for task in TRACK:
        chosen[task] = []
        for pair in docs(task, data_dir):
            if limit and len(chosen[task]) >= limit:
                break
            lengths = [len(ids) for ids in tok([pair["good"], pair["bad"]], add_special_tokens=False)["input_ids"]]
            if max(lengths) > max_tokens:
                too_long += 1
                continue
            chosen[task].append(pair)
    return chosen, too_long


def write_pairs(chosen: dict[str, list[dict]], path: Path) -> tuple[Path, str]:
    """The chosen pairs as JSON lines with their task, for the track's tasks to read, and a fingerprint of them."""
    body = "".join(json.dumps({"task": task, **p}, ensure_ascii=False) + "\n" for task, ps in chosen.items()
                   for p in ps)
    return write_text(path, body), hashlib.sha256(body.encode()).hexdigest()[:16]


def chosen_docs(task: str, path) -> list[dict]:
    """The pairs of one track task from a file `write_pairs` wrote."""
    return [p for p in minimal_pairs.read_pairs(path) if p.get("task") == task]


_COUNTS: dict[tuple, object] = {}


def unigram_baselines(tok, texts: list[str], chosen: dict[str, list[dict]]) -> dict[str, dict]:
    """Per track task, the unigram model's accuracy on the pairs the harness scores: counts of `tok`'s tokens over
    `texts` (at most UNIGRAM_CHARS characters), add-one smoothed. Counted once per tokenizer and text in a process,
    since every stage of a chapter shares them."""
    counts = _counts(tok, texts)
    return {task: minimal_pairs.unigram_accuracy(pairs, tok, counts) for task, pairs in chosen.items()}


def unigram_bits(tok, texts: list[str], heldout: list[str]) -> float:
    """The unigram model's bits per byte on the `heldout` documents bits per byte is measured on, counted on the
    same `texts` as the track's baseline."""
    return minimal_pairs.unigram_bits_per_byte(tok, _counts(tok, texts), heldout)


def _counts(tok, texts: list[str]):
    texts = _capped(texts, UNIGRAM_CHARS)
    key = (tok.name_or_path, len(tok), len(texts), sum(map(len, texts)))
    if key not in _COUNTS:
        _COUNTS[key] = minimal_pairs.token_counts(tok, texts)
    return _COUNTS[key]


def normalised(acc: float, baseline: float) -> float | None:
    """Points above the baseline (0 = the baseline, 100 = every pair right); None when the baseline is already
    perfect and nothing is left to normalise by."""
    from bielik.evaluation.polish_tasks import normalise

    return None if baseline >= 1 else normalise(acc, baseline)


def track_result(results: dict, baselines: dict[str, dict]) -> dict:
    """The grammar track of a stage from lm-eval's results: per feature the accuracy, the pairs scored, the unigram
    baseline and the normalised score; and the same over all pairs (a pair-weighted mean)."""
    features, n, acc, uni = {}, 0, 0.0, 0.0
    for task, feature in TRACK.items():
        if task not in results:
            continue
        a, b = results[task]["acc,none"], baselines[task]
        features[feature] = {"accuracy": 100 * a, "pairs": b["pairs"], "unigram": 100 * b["accuracy"],
                             "normalised": normalised(a, b["accuracy"])}
        n, acc, uni = n + b["pairs"], acc + a * b["pairs"], uni + b["accuracy"] * b["pairs"]
    if not n:
        raise ValueError(f"no grammar task in these results (expected {', '.join(TRACK)})")
    return {"accuracy": 100 * acc / n, "pairs": n, "unigram": 100 * uni / n,
            "normalised": normalised(acc / n, uni / n), "features": features}


def heldout_sample(texts: list[str], max_bytes: int) -> list[str]:
    """The held-out documents bits per byte is measured on: the first ones, in order, up to `max_bytes` of UTF-8
    (at least one); the same documents for every stage of a run."""
    out, total = [], 0
    for t in texts:
        if out and total + len(t.encode()) > max_bytes:
            break
        out.append(t)
        total += len(t.encode())
    return out


def write_heldout(texts: list[str], path: Path) -> tuple[Path, str]:
    """The held-out documents as JSON lines for the pl_heldout task, and a fingerprint of them (sha256 prefix)."""
    body = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts)
    return write_text(path, body), hashlib.sha256(body.encode()).hexdigest()[:16]


def heldout_docs(path) -> list[dict]:
    """The documents of the pl_heldout task; without a file, say how the task is meant to be run."""
    from bielik.data.readers import DataError, read_jsonl

    if not path:
        raise DataError(f"{HELDOUT_TASK} measures text written for one evaluation: run it through "
                        "bielik.evaluation.harness.evaluate(..., heldout_texts=...), which passes the file")
    rows = []
    for n, row in read_jsonl(Path(path)):
        if not isinstance(row.get("text"), str) or not row["text"]:
            raise DataError(f"{path}, line {n}: a held-out document needs a non-empty 'text'")
        rows.append({"text": row["text"]})
    return rows
