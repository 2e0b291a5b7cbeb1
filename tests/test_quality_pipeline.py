"""Chapter 01 end to end on a small labelled set: the classifier and bad input (the corpus pass: test_corpus_pipeline)."""

import numpy as np
import pytest

from bielik.data import filtering, quality_classifier
from bielik.data.cleanup import clean_doc, clean_pool
from bielik.data.corpus import load_pool
from bielik.data.quality_labels import CLASSES

from conftest import ROOT


@pytest.fixture(scope="module")
def trained():
    docs, _ = clean_pool(load_pool(ROOT / "data", limit_per_source=30))
    labelled = filtering.labelled_set(docs, synthetic_share=0.5, seed=0)
    X = filtering.featurise(labelled)
    y = filtering.label_ids(labelled)
    model = quality_classifier.xgb(quality_classifier.REPORT_XGB, n_estimators=300).fit(X, y)
    return model, X, y


def test_scores_and_per_class_by_hand():
    y_true, y_pred = [0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0]
    s = quality_classifier.scores(y_true, y_pred)
    # LOW: P 1/2 R 1/2 F1 1/2; MEDIUM: P 1/2 R 1 F1 2/3; HIGH: P 1 R 2/3 F1 4/5
    assert s["accuracy"] == pytest.approx(4 / 6)
    assert s["macro F1"] == pytest.approx((1 / 2 + 2 / 3 + 4 / 5) / 3)
    assert s["weighted F1"] == pytest.approx((2 * 1 / 2 + 1 * 2 / 3 + 3 * 4 / 5) / 6)
    rows = {r["class"]: r for r in quality_classifier.per_class(y_true, y_pred)}
    assert rows["MEDIUM"]["recall"] == 1.0 and rows["HIGH"]["precision"] == 1.0
    assert quality_classifier.confusion(y_true, y_pred).tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


@pytest.mark.slow
def test_classifier_learns_the_labels(trained):
    model, X, y = trained
    assert quality_classifier.scores(y, model.predict(X))["accuracy"] > 0.9  # on its training data: a sanity check only


@pytest.mark.slow
def test_shap_ranks_every_feature(trained):
    model, X, _ = trained
    names = [f"f{i}" for i in range(X.shape[1])]
    ranked = quality_classifier.mean_abs_shap(model, X[:50], names)
    assert len(ranked) == X.shape[1] and ranked[0][1] >= ranked[-1][1] >= 0


@pytest.mark.slow
def test_model_round_trips_exactly(trained, tmp_path):
    model, X, _ = trained
    quality_classifier.save(model, tmp_path / "q.ubj")
    assert np.array_equal(quality_classifier.load(tmp_path / "q.ubj").predict_proba(X[:20]), model.predict_proba(X[:20]))


BAD = {
    "empty": "",
    "whitespace": " \n\t " * 100,
    "binary garbage": bytes(range(256)).decode("utf-8", errors="replace") * 40,
    "invalid UTF-8": "Zażółć gęślą jaźń, ".encode("iso-8859-2").decode("utf-8", errors="replace") * 30,
    "5 MB single line": ("Ala ma kota i psa, a kot ma Alę. " * 160_000)[:5_000_000],
    "English": "This is a perfectly ordinary English paragraph about the weather and the sea. " * 20,
}


@pytest.mark.slow
@pytest.mark.parametrize("name", BAD)
def test_bad_input_comes_out_dropped_or_low(trained, name):
    model, _, _ = trained
    doc, _ = clean_doc({"text": BAD[name], "lang": "pl"}, min_chars=200)
    proba = model.predict_proba(filtering.featurise([doc]))[0]
    assert np.isfinite(proba).all()
    assert doc["dropped"] or CLASSES[int(proba.argmax())] == "LOW", (name, proba)
    assert doc["dropped"] or proba[2] <= 0.9
