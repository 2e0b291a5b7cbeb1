"""The HIGH/MEDIUM/LOW quality classifier of the report's §3.1.2: XGBoost on stylometric features.

`REPORT_XGB` is the configuration the report gives ("alternative high-capacity model"); `candidates`
are the models of a Table-2-like comparison. P(HIGH) is column 2 of `predict_proba` (quality_labels.CLASSES).
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    f1_score,
)

from bielik.data.quality_labels import CLASSES

REPORT_XGB = dict(n_estimators=1000, max_depth=7, learning_rate=0.02, subsample=0.7, colsample_bytree=0.7,
                  objective="multi:softprob", eval_metric="mlogloss")
V3_XGB = dict(n_estimators=250, max_depth=8, learning_rate=0.08, subsample=0.75, colsample_bytree=0.8,
              reg_alpha=0.2, reg_lambda=0.5, objective="multi:softprob", eval_metric="mlogloss")
SHALLOW_XGB = dict(n_estimators=400, max_depth=3, learning_rate=0.25, objective="multi:softprob")


def xgb(params: dict, seed: int = 42, n_estimators: int | None = None):
    from xgboost import XGBClassifier

    from bielik.book.provenance import usable_cores

    params = {**params, **({"n_estimators": n_estimators} if n_estimators else {})}
    return XGBClassifier(**params, random_state=seed, n_jobs=usable_cores(), tree_method="hist")


def candidates(seed: int = 42, n_estimators: int | None = None) -> dict:
    """The models compared as the report's Table 2 does; `n_estimators` caps the trees at small scales."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from bielik.book.provenance import usable_cores

    cap = (lambda n: min(n, n_estimators)) if n_estimators else (lambda n: n)
    return {
        "XGB report config (d7, n1000, lr0.02)": xgb(REPORT_XGB, seed, cap(1000)),
        "XGB v3 config (d8, n250, lr0.08, L1/L2)": xgb(V3_XGB, seed, cap(250)),
        "XGB shallow (d3, n400, lr0.25)": xgb(SHALLOW_XGB, seed, cap(400)),
        "XGB defaults": xgb({"objective": "multi:softprob"}, seed, cap(100)),
        "HistGradientBoosting": HistGradientBoostingClassifier(random_state=seed, max_iter=cap(200)),
        "RandomForest": RandomForestClassifier(n_estimators=cap(300), random_state=seed, n_jobs=usable_cores()),
        "LogisticRegression": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
    }


def scores(y_true, y_pred) -> dict:
    return {"macro F1": f1_score(y_true, y_pred, average="macro", labels=[0, 1, 2], zero_division=0),
            "weighted F1": f1_score(y_true, y_pred, average="weighted", labels=[0, 1, 2], zero_division=0),
            "accuracy": accuracy_score(y_true, y_pred)}


def per_class(y_true, y_pred) -> list[dict]:
    """Precision, recall, F1 and support per class, then accuracy, macro and weighted (Tables 3-4)."""
    rep = classification_report(y_true, y_pred, labels=[0, 1, 2], target_names=CLASSES, output_dict=True,
                                zero_division=0)
    rows = [{"class": c, **{k: rep[c][k] for k in ("precision", "recall", "f1-score", "support")}}
            for c in CLASSES]
    rows.append({"class": "accuracy", "f1-score": rep["accuracy"], "support": len(y_true)})
    rows += [{"class": k.split()[0], **rep[k]} for k in ("macro avg", "weighted avg")]
    return rows


def confusion(y_true, y_pred) -> np.ndarray:
    return confusion_matrix(y_true, y_pred, labels=[0, 1, 2])


def mean_abs_shap(model, X: np.ndarray, names: list[str]) -> list[tuple[str, float]]:
    """Features by mean |SHAP| from xgboost's exact tree contributions (pred_contribs), averaged over
    documents and classes; the bias column is left out."""
    from xgboost import DMatrix

    contribs = model.get_booster().predict(DMatrix(X), pred_contribs=True)  # names may hold [ or <, which DMatrix refuses
    contribs = contribs.reshape(len(X), len(CLASSES), len(names) + 1)[:, :, :-1]
    mean = np.abs(contribs).mean(axis=(0, 1))
    order = np.argsort(-mean)
    return [(names[i], float(mean[i])) for i in order]


def p_high(model, X: np.ndarray) -> np.ndarray:
    return model.predict_proba(X)[:, CLASSES.index("HIGH")]


def save(model, path) -> None:
    """xgboost's own format (.ubj), written atomically."""
    from bielik.book.artifacts import atomic_path

    with atomic_path(path) as tmp:
        model.save_model(str(tmp))


def load(path):
    from xgboost import XGBClassifier

    model = XGBClassifier()
    model.load_model(str(path))
    return model
