"""Exercises that do what they say: the solutions' code that needs no executed chapter runs here, and returns
what its solution describes."""
import re

import pytest

from bielik.book.paths import repo_root

SOLUTION_CODE = re.compile(r"<details class=\"solution\">.*?```python\n(.*?)```.*?</details>", re.DOTALL)


def solution_blocks() -> list[tuple[str, str]]:
    found = []
    for md in sorted((repo_root() / "notebooks").glob("*.md")):
        for code in SOLUTION_CODE.findall(md.read_text()):
            found.append((md.stem, code))
    return found


def self_contained(code: str) -> bool:
    """Code that imports what it uses, rather than reading a chapter's namespace (ch, P, the chapter's frames)."""
    return code.lstrip().startswith(("import", "from")) and not re.search(r"\b(ch|P)\.", code)


def test_the_solutions_have_code_to_check():
    assert sum(self_contained(c) for _, c in solution_blocks()) >= 3


@pytest.mark.parametrize("chapter, code", [b for b in solution_blocks() if self_contained(b[1])],
                         ids=lambda x: x if isinstance(x, str) and len(x) < 20 else "")
def test_a_solution_runs(chapter, code):
    namespace: dict = {}
    exec(compile(code, f"{chapter} solution", "exec"), namespace)  # noqa: S102 - the book's own code


def test_chapter_00_solution_3_names_a_step_for_every_benchmark():
    import pandas as pd

    from bielik.report import paper

    [code] = [c for ch, c in solution_blocks() if ch == "00_overview" and "HEADLINES" in c]
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102
    steps = namespace["steps"]
    assert list(steps.index) == [f"{v}: {paper.TRAINING_STAGES[v]}" for v in paper.VERSIONS[1:]]  # v2.0 kept
    best = steps.idxmax()
    assert best.notna().all() and best["Open PL LLM, 5-shot (T7/8)"] == "v2.0: SFT"
    assert isinstance(best, pd.Series) and len(best) == len(paper.HEADLINES)


# --- the exercises' parameter changes ------------------------------------------------------------------------

EXERCISE = re.compile(r"^\*\*(\d+)\.\*\* (.*)$", re.MULTILINE)
RUN_COMMAND = re.compile(r"`(bielik run [^`]+)`")


def exercise_commands() -> list[tuple[str, str, str]]:
    """(chapter, exercise number, command) for every `bielik run` an exercise's question asks for."""
    found = []
    for md in sorted((repo_root() / "notebooks").glob("*.md")):
        text = md.read_text().split("\n## Exercises", 1)[-1]
        for number, question in EXERCISE.findall(text):
            found += [(md.stem, number, cmd) for cmd in RUN_COMMAND.findall(question)]
    return found


# Every parameter an exercise changes, and the test that shows the change moves what the exercise is about
# (a test in this file, or in the module that tests the code the chapter calls with it).
MOVES = {
    ("01_data", "threshold"): "test_exercises.py::test_01_a_lower_threshold_keeps_more",
    ("01_data", "synthetic_share"): "test_exercises.py::test_01_without_synthetic_damage_medium_is_web_text_only",
    ("02_tokenizer", "english_share"): "test_tokenizer.py::test_a_share_is_kept_when_a_pool_runs_short",
    ("02_tokenizer", "vocab_size"): "test_exercises.py::test_02_a_smaller_vocabulary_splits_words_into_more_tokens",
    ("03_upscaling", "m"): "test_exercises.py::test_03_m_sets_how_many_layers_the_stack_has",
    ("04_pretraining", "scratch_budget"): "test_pretrain.py::test_the_scratch_control_gets_the_budget_it_asks_for",
    ("04_pretraining", "polish_share"): "test_exercises.py::test_04_polish_share_095_leaves_english_no_tokens",
    ("05_sft", "low_quality_share"): "test_sft_data.py::test_injected_low_quality_replaces_train_examples_only",
    ("05_sft", "weighting"): "test_sft.py::test_wicel_against_a_hand_computation",
    ("06_dpo", "lam"): "test_exercises.py::test_06_lambda_sets_the_penalty_coefficient",
    ("06_dpo", "placement"): "test_dpo.py::test_dpop_loss_by_hand",
    ("07_merging", "density"): "test_merging.py::test_ties_density_sets_how_far_it_moves_from_the_linear_merge",
    ("08_quantization", "formats"): "test_quantize.py::test_iq2_xxs_without_an_imatrix_is_refused_with_llama_cpps_reason",
    ("09_evaluation", "shots"): "test_scales.py::test_list_parameters_are_split_stripped_and_cast",
    ("09_evaluation", "eval_limit"): "test_exercises.py::test_09_eval_limit_0_scores_every_document",
}


def _parsed(command: str):
    import shlex

    from bielik.book.cli import build_parser

    return build_parser().parse_args(shlex.split(command)[1:])


@pytest.mark.parametrize("chapter, number, command", exercise_commands(), ids=lambda x: x if len(x) < 16 else "")
def test_an_exercises_command_is_one_the_book_accepts(chapter, number, command):
    from bielik.book import runner, scales
    from bielik.book.chapters import get_chapter

    args = _parsed(command)
    assert args.command == "run" and args.scale in scales.SCALES
    assert args.run_dir and str(args.run_dir).startswith("runs/ex-"), "an exercise writes to a folder of its own"
    assert str(args.base_run) == f"runs/{args.scale}"
    ids = [get_chapter(k).id for k in args.only]
    assert chapter in ids, f"exercise {number} of {chapter} reruns other chapters only"
    for name, text in args.parameter:
        takers = [c for c in ids if name in scales.parameter_names(c)]
        assert takers, f"exercise {number} of {chapter}: no chapter of --only {' '.join(args.only)} has {name!r}"
        for c in takers:
            scales.resolve(c, args.scale, {name: runner.parse_value(text)})


def test_every_parameter_an_exercise_changes_has_a_test_of_what_it_moves():
    import ast

    from bielik.book import scales
    from bielik.book.chapters import get_chapter

    changed = {(chapter, name) for chapter, _, command in exercise_commands()
               for name, _ in _parsed(command).parameter if name in scales.parameter_names(chapter)}
    assert changed == set(MOVES), "MOVES must name a test for exactly the parameters the exercises change"
    for (chapter, _), node in MOVES.items():
        get_chapter(chapter)
        module, name = node.split("::")
        tree = ast.parse((repo_root() / "tests" / module).read_text())
        assert name in {f.name for f in tree.body if isinstance(f, ast.FunctionDef)}, node


def test_01_a_lower_threshold_keeps_more():
    import numpy as np

    from bielik.book import scales
    from bielik.data.filtering import add_scores

    proba = np.array([[0.0, 0.05, 0.95], [0.1, 0.3, 0.6], [0.2, 0.4, 0.4], [0.1, 0.0, 0.9]])
    kept = {t: sum(d["kept"] for d in add_scores([{}] * 4, proba, t))
            for t in (scales.preset("01_data", "tiny")["threshold"], 0.5)}
    assert kept == {0.9: 1, 0.5: 3}  # P(HIGH) > threshold: 0.9 itself is kept at 0.5, not at 0.9


def _pool():
    edited = [{"id": f"b{i}", "group": f"b{i}", "source": "wolnelektury", "lang": "pl",
               "text": "Ala ma kota, a kot ma Alę. " * 40} for i in range(20)]
    web = [{"id": f"w{i}", "group": f"w{i}", "source": "oscar", "lang": "pl",
            "text": "Kup teraz tanio!!! Najlepsze oferty " * 20} for i in range(6)]
    return edited + web


def test_01_without_synthetic_damage_medium_is_web_text_only():
    from bielik.data.filtering import labelled_set

    with_damage, without = labelled_set(_pool(), 0.3, seed=1), labelled_set(_pool(), 0, seed=1)
    assert any(d.get("origin") == "synthetic" and d["label"] == "MEDIUM" for d in with_damage)
    assert not any(d.get("origin") == "synthetic" for d in without)
    assert {d["source"] for d in without if d["label"] == "MEDIUM"} <= {"oscar"}
    assert len(without) == len(_pool()) < len(with_damage)


def test_02_a_smaller_vocabulary_splits_words_into_more_tokens(tmp_path):
    from bielik.model import tokenizer as T
    from test_tokenizer import corpus

    texts = corpus()
    words = " ".join(texts[:20]).split()
    sizes, tokens = {}, {}
    for vocab in (1000, 500):  # the exercise halves the vocabulary
        tok, info = T.build_tokenizer(texts, vocab, tmp_path / str(vocab))
        sizes[vocab], tokens[vocab] = len(tok), len(tok(" ".join(words), add_special_tokens=False)["input_ids"])
    assert sizes[500] < sizes[1000] and tokens[500] > tokens[1000]


def test_03_m_sets_how_many_layers_the_stack_has():
    from bielik.book import scales
    from bielik.model.upscaling import layer_map

    n = scales.preset("03_upscaling", "tiny")["n_layers"]
    assert {m: len(layer_map(n, m)) for m in (1, 2, 3, n // 2)} == {m: 2 * (n - m) for m in (1, 2, 3, n // 2)}
    assert len(layer_map(n, 1)) > len(layer_map(n, 3))  # exercise 2 of chapter 03: 2 * (9 - 3) = 12


def test_04_polish_share_095_leaves_english_no_tokens():
    from bielik.book import scales
    from bielik.pretrain.continued import token_shares
    from bielik.pretrain.mixture import mix

    p = scales.preset("04_pretraining", "tiny")
    assert token_shares(p["polish_share"], p["instruction_share"])["English"] == pytest.approx(0.25)
    shares = token_shares(0.95, p["instruction_share"])
    assert shares["English"] == 0 and sum(shares.values()) == pytest.approx(1)

    class Chars:  # one token per character: enough to count a mix
        bos_token_id, eos_token_id = 1, 2

        def __call__(self, texts, add_special_tokens=False):
            return {"input_ids": [[3] * len(t) for t in texts]}

    sources = {"Polish": ["ż" * 50] * 40, "English": ["e" * 50] * 40, "Instructions": ["i" * 50] * 40}
    _, table = mix(Chars(), sources, shares, tokens=1000, seq_len=16)
    assert {r["source"]: r["tokens"] for r in table}["English"] == 0
    with pytest.raises(ValueError, match="add up to at most 1"):
        token_shares(0.99, 0.05)


def test_06_lambda_sets_the_penalty_coefficient():
    from bielik.posttrain import dpo

    # inside beta (the chapter's placement): beta x lambda; exercise 2's 50 and 0.5 against the report's 2.5
    assert [dpo.penalty_weight(0.05, lam, "inside") for lam in (0.5, 2.5, 50)] == pytest.approx([0.025, 0.125, 2.5])
    assert dpo.penalty_weight(0.05, 50, "outside") == 50


def test_09_eval_limit_0_scores_every_document():
    from bielik.book import scales

    assert "eval_limit" in scales.ZERO_MEANS_ALL
    # the chapter hands the harness None for 0, and lm-eval's limit None scores every document
    assert "limit=P.eval_limit or None" in (repo_root() / "notebooks" / "09_evaluation.md").read_text()
