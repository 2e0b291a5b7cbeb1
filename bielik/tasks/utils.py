"""Hooks the task YAMLs of this folder call (lm-eval loads this file by path through `!function utils.<name>`).

Data comes from the repository's data/ (or the folder passed as `data_dir` in the TaskManager's metadata),
never from the Hub; the readers in bielik.evaltasks name the file and line of a malformed row.
"""
from pathlib import Path

import datasets

from bielik import evaltasks


def _load(name, data_dir=None, **_):
    if data_dir is None:
        from bielik.paths import repo_root
        data_dir = repo_root() / "data"
    test, fewshot = evaltasks.docs(name, Path(data_dir))
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(test),
                                 "fewshot": datasets.Dataset.from_list(fewshot)})


def polemo2_out(**kw):
    return _load("polemo2_out", **kw)


def klej_ner(**kw):
    return _load("klej_ner", **kw)


def polish_8tags(**kw):
    return _load("polish_8tags", **kw)


def cbd(**kw):
    return _load("cbd", **kw)


def dyk(**kw):
    return _load("dyk", **kw)


def ppc(**kw):
    return _load("ppc", **kw)


def quiz_qa(**kw):
    return _load("quiz_qa", **kw)


def macro_f1(items):
    gold, pred = zip(*items)
    return evaltasks.macro_f1(list(gold), list(pred))


def binary_f1(items):
    gold, pred = zip(*items)
    return evaltasks.binary_f1(list(gold), list(pred))


def quiz_results(doc, results):
    return evaltasks.answer_scores(results[0], doc["answers"])
