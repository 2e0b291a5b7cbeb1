"""Chapter 01's steps that the notebook and the tests share: label, featurise, score, filter.

`featurise` takes a list of documents or a `datasets.Dataset`; the corpus pass over data/ or a hub corpus is
bielik/data/corpus_pipeline.py's datatrove pipeline, which scores with the same features and `add_scores`.
"""
from __future__ import annotations

import numpy as np

from bielik.data import features
from bielik.data.cleanup import clean_doc
from bielik.data.quality_labels import CLASSES, damage, source_label
from bielik.data.splits import split_of


def labelled_set(docs: list[dict], synthetic_share: float, seed: int = 0) -> list[dict]:
    """Cleaned documents with a source label, plus damaged copies of a share of the HIGH ones.

    Every row gets `label` and `split` (by group, so a book and its damaged copies stay together).
    Damaged copies go through cleanup again: what cleanup repairs is not damage.
    """
    out = [{**d, "label": lab} for d in docs if (lab := source_label(d))]
    high = [d for d in out if d["label"] == "HIGH"]
    for d in damage(high, synthetic_share, seed):
        cleaned, _ = clean_doc(d, min_chars=0)
        out.append(cleaned)
    for d in out:
        d["split"] = split_of(d["group"], seed)
    return out


def featurise(docs, num_proc: int = 1) -> np.ndarray:
    """The feature matrix (documents x features.FEATURES, float32) of a list of documents or a datasets.Dataset,
    extracted in num_proc processes."""
    import datasets

    texts = docs["text"] if isinstance(docs, datasets.Dataset) else [d["text"] for d in docs]
    return features.feature_matrix(texts, num_proc=num_proc).astype(np.float32)


def label_ids(docs: list[dict]) -> np.ndarray:
    return np.array([CLASSES.index(d["label"]) for d in docs])


def add_scores(docs: list[dict], proba: np.ndarray, threshold: float) -> list[dict]:
    """Each document with p_low, p_medium, p_high, its predicted class and whether it is kept."""
    out = []
    for d, p in zip(docs, proba):
        out.append({**d, "p_low": float(p[0]), "p_medium": float(p[1]), "p_high": float(p[2]),
                    "predicted": CLASSES[int(np.argmax(p))], "kept": bool(p[2] > threshold)})
    return out
