"""Hooks the task YAMLs of this folder call (lm-eval loads this file by path through `!function utils.<name>`).

Data comes from the repository's data/ (or the folder passed as `data_dir` in the TaskManager's metadata), or at
`small` and `full` (`hub_scale` in the metadata) from the tasks' hub sets in the local Hugging Face cache; the
readers in bielik.evaluation.polish_tasks name the file and line (or the set, file and row) of a malformed row.
"""
from pathlib import Path

import datasets

from bielik.evaluation import grammar, polish_tasks


def load(task, data_dir=None, heldout=None, pairs=None, hub_scale=None, **_):
    """The task's test and few-shot splits; the YAML names the task in `dataset_kwargs`, and `data_dir`, and for
    the harness's yardsticks the `pairs` and `heldout` files it chose, come from the TaskManager's metadata (other
    metadata, such as `version`, is ignored). The grammar track and pl_heldout are 0-shot: no few-shot split."""
    if data_dir is None:
        from bielik.book.paths import repo_root
        data_dir = repo_root() / "data"
    if task in grammar.TRACK:
        test, fewshot = (grammar.chosen_docs(task, pairs) if pairs else grammar.docs(task, Path(data_dir))), []
    elif task == grammar.HELDOUT_TASK:
        test, fewshot = grammar.heldout_docs(heldout), []
    else:
        test, fewshot = polish_tasks.docs(task, Path(data_dir), hub_scale)
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(test),
                                 "fewshot": datasets.Dataset.from_list(fewshot)})


def macro_f1(items):
    gold, pred = zip(*items)
    return polish_tasks.macro_f1(list(gold), list(pred))


def binary_f1(items):
    gold, pred = zip(*items)
    return polish_tasks.binary_f1(list(gold), list(pred))


def quiz_results(doc, results):
    return polish_tasks.answer_scores(results[0], doc["answers"])
