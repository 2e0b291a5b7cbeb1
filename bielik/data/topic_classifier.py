"""The thematic category classifier of the report's §3.1.3, trained on the topic labels at hand (8TAGS).

CountVectorizer (10,000 terms) -> TF-IDF -> LinearSVC calibrated with isotonic regression (3-fold);
a document whose best category has probability below 20% is "Other", as in the report.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from bielik.data.readers import DataError, open_text

# 8TAGS label order, checked on examples (shared data/SOURCES.md)
TAGS = ["film", "history", "food", "medicine", "motorization", "work", "sport", "technology"]
OTHER = "Other"


def read_8tags(path: Path) -> tuple[list[str], list[str]]:
    """(texts, category names) from an 8TAGS file: `label sentence` per line."""
    texts, labels = [], []
    with open_text(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            label, _, text = line.rstrip("\n").partition(" ")
            if not label.isdigit() or int(label) >= len(TAGS) or not text:
                raise DataError(f"{path}, line {n}: expected '<label 0-7> <sentence>', got {line[:60]!r}")
            texts.append(text)
            labels.append(TAGS[int(label)])
    return texts, labels


def build(max_features: int = 10_000, seed: int = 0):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.svm import LinearSVC

    return Pipeline([
        ("counts", CountVectorizer(max_features=max_features, lowercase=True)),
        ("tfidf", TfidfTransformer()),
        ("svm", CalibratedClassifierCV(LinearSVC(random_state=seed), method="isotonic", cv=3)),
    ])


def predict(model, texts: list[str], other_below: float = 0.2) -> tuple[list[str], np.ndarray]:
    """Category names ("Other" when the best probability is below `other_below`) and the probabilities."""
    if len(texts) == 0:
        return [], np.zeros((0, len(model.classes_)))
    proba = model.predict_proba(texts)
    best = proba.argmax(axis=1)
    names = [OTHER if proba[i, b] < other_below else model.classes_[b] for i, b in enumerate(best)]
    return names, proba
