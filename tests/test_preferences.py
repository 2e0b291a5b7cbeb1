import gzip
import json

import pytest

from bielik.data.readers import DataError
from bielik.posttrain import preferences as P

from conftest import ROOT

DATA = ROOT / "data"
KEYS = {"source", "group", "prompt", "a", "b", "origin_a", "origin_b"}
PAIR_KEYS = {"id", "source", "group", "split", "prompt", "chosen", "rejected", "score_chosen", "score_rejected"}


@pytest.fixture(scope="module")
def real():
    """All candidates of data/ and the pipeline's pairs and steps, built once (a few seconds)."""
    candidates = P.build(DATA)
    pairs, steps = P.pipeline(candidates)
    return candidates, pairs, dict(steps)


def _cand(prompt, a, b, origin_a="gold", origin_b="wrong", group="g", **extra):
    return {"id": f"t/{prompt}", "source": "test", "group": group, "prompt": [{"role": "user", "content": prompt}],
            "a": a, "b": b, "origin_a": origin_a, "origin_b": origin_b, **extra}


@pytest.mark.parametrize("name", list(P.READERS))
def test_each_reader_returns_candidates(name):
    cands = P.READERS[name](DATA)
    assert cands
    scored_origins = {row[0] for row in P.SCORING}
    for c in cands:
        assert KEYS <= set(c)
        assert c["prompt"][-1]["role"] == "user" and c["prompt"][-1]["content"].strip()
        assert isinstance(c["a"], str) and isinstance(c["b"], str)
        assert {c["origin_a"], c["origin_b"]} <= scored_origins  # every origin has a row in SCORING


def test_readers_read_what_the_brief_says():
    law = P.law_exams(DATA)
    assert len(law) == 150  # SOURCES.md: 150 of Bielik's 541 answers are wrong
    assert all(c["a"].split(":")[0] != c["b"].split(":")[0] for c in law)  # different letters
    assert {c["group"] for c in law} >= {"adwokacki_radcowy-2023", "komorniczy-2025"}
    quiz = P.quiz(DATA)
    dev = (DATA / "poleval2021_quiz_qa" / "dev-0" / "in.tsv").read_text(encoding="utf-8").splitlines()
    assert [c["prompt"][0]["content"] for c in quiz] == dev  # dev-0 only, never test-A
    assert all(c["origin_b"] in ("languagetool", "uncorrected") for c in P.gec(DATA))
    assert P.detokenise("alfred jodl ( ur . 1890 ) , `` generał `` ; m.in . x ''") == \
        "Alfred jodl (ur. 1890), „generał”; m.in. x „"


@pytest.mark.slow
def test_pipeline_steps_and_pairs(real):
    candidates, pairs, steps = real
    chain = ["collected", "after dedup", "scored", "after dropping ties", "after dropping gaps < 2",
             "after format check", "final"]
    counts = [steps[s] for s in chain]
    assert counts == sorted(counts, reverse=True) and counts[0] == len(candidates)
    assert steps["final"] == len(pairs) > 1000
    assert {p["source"] for p in pairs} == set(P.READERS)
    for p in pairs:
        assert set(p) == PAIR_KEYS
        assert p["score_chosen"] - p["score_rejected"] >= 2.0
        assert p["prompt"][-1]["role"] == "user" and p["chosen"][0]["role"] == "assistant"
        assert p["chosen"][0]["content"] and p["rejected"][0]["content"]
    assert len({p["id"] for p in pairs}) == len(pairs)


@pytest.mark.slow
def test_no_group_in_both_splits(real):
    _, pairs, steps = real
    splits = {}
    for p in pairs:
        splits.setdefault((p["source"], p["group"]), set()).add(p["split"])
    assert all(len(s) == 1 for s in splits.values())
    assert 0.03 < steps["of which heldout"] / len(pairs) < 0.2


def test_swap_when_the_rejected_side_scores_higher():
    # the gold text has an unclosed quotation mark (9 - 2), the model's answer closes it (10 x 0.98)
    cand = _cand("Jaka jest stolica Polski?", "Stolica Polski to „Warszawa.", "Stolica Polski to „Warszawa”.",
                 origin_b="model", reference="Stolica Polski to „Warszawa.")
    pairs, steps = P.pipeline([cand])
    assert dict(steps)["swapped (b scored higher than a)"] == 1
    [pair] = pairs
    assert pair["chosen"][0]["content"] == cand["b"] and pair["rejected"][0]["content"] == cand["a"]
    assert pair["score_chosen"] > pair["score_rejected"]


def test_ties_and_small_gaps_are_dropped():
    wrong, right = "Ala ma kota i psa, których kochają.", "Ala ma kota i psa, których kocha."
    cands = [
        # LanguageTool made exactly the expert's correction: 9 and 9
        _cand("Popraw: " + wrong, right, right, "expert", "languagetool", reference=right, original=wrong),
        # the other question's answer happens to be this one's key
        _cand("Pierwsza litera alfabetu greckiego?", "alfa", "alfa", "gold", "distractor", reference="alfa"),
        # a model answer equal to the key: 9 against 10, a gap below 2
        _cand("Ostatnia litera alfabetu greckiego?", "omega", "Omega", "gold", "model", reference="omega"),
        _cand("Stolica Francji?", "Paryż", "Rzym", "gold", "distractor", reference="Paryż"),
    ]
    pairs, steps = P.pipeline(cands)
    steps = dict(steps)
    assert steps["after dropping ties"] == 2 and steps["after dropping gaps < 2"] == 1
    assert [p["chosen"][0]["content"] for p in pairs] == ["Paryż"]


def test_score_rules():
    wrong, right = "Nikt nie zakłócały spokoju lasuu.", "Nikt nie zakłócał spokoju lasu."
    assert P.score(right, "expert") == 9.0 and P.score(wrong, "uncorrected", right) == 2.0
    assert P.score(wrong, "uncorrected", reference=wrong) == 9.0  # nothing to correct: it is the key
    half = P.score("Nikt nie zakłócał spokoju lasuu.", "languagetool", right, wrong)  # one of two errors
    assert 2.0 < half < 9.0
    assert P.score(right, "languagetool", right, wrong) == 9.0
    assert P.score(wrong, "languagetool", right, wrong) == 2.0
    assert P.score("Warszawa", "model", reference="Warszawa") == 10.0
    assert P.score("Kraków", "model", reference="Warszawa") < 5.0  # shares "a", "w", "a" in order
    assert P.score("", "gold") == 0.0
    assert P.score("zdanie (bez nawiasu", "gold") == 7.0 and P.score("zdanie \ufffd", "gold") == 6.0
    with pytest.raises(ValueError, match="no scoring rule"):
        P.score("x", "oracle")


def test_dedup_removes_a_near_duplicate_and_keeps_distinct_prompts():
    s = ("Według badań statystycznych rozwody wśród osób wierzących poza katolikami i luteranami są "
         "częstsze niż w przypadku ateistów i agnostyków w całej Europie Zachodniej.")
    near = s.replace("częstsze", "rzadsze")
    other = "Jak nazywa się dowolny odcinek łączący dwa punkty okręgu?"
    cands = [_cand(s, "a", "b"), _cand(other, "a", "b"), _cand(near, "a", "b"),
             _cand("Jak nazywa się pierwsza litera alfabetu greckiego?", "a", "b")]
    kept = P.dedup(cands)
    assert [c["prompt"][0]["content"] for c in kept] == [s, other, cands[3]["prompt"][0]["content"]]
    assert P.dedup(cands) == kept  # deterministic


def test_from_model_with_a_fake_generate():
    convs = [[{"role": "user", "content": "Stolica Polski?"}, {"role": "assistant", "content": "Warszawa"}],
             [{"role": "user", "content": "Pierwsza litera alfabetu greckiego?"},
              {"role": "assistant", "content": "alfa"}]]
    seen = []

    def generate(prompts):
        seen.extend(prompts)
        return ["Kraków", "alfa"]

    cands = P.from_model(convs, generate)
    assert seen == [c[:-1] for c in convs]  # the gold turn is not shown to the model
    assert [(c["a"], c["b"], c["origin_b"]) for c in cands] == [("Warszawa", "Kraków", "model"),
                                                                 ("alfa", "alfa", "model")]
    pairs, _ = P.pipeline(cands)
    assert [(p["chosen"][0]["content"], p["rejected"][0]["content"]) for p in pairs] == [("Warszawa", "Kraków")]
    with pytest.raises(ValueError, match="1 answers for 2 prompts"):
        P.from_model(convs, lambda prompts: ["x"])


def test_quiz_for_model_takes_questions_the_quiz_source_did_not():
    cands = P.build(DATA, limit_per_source=50, sources=["quiz"])
    taken = {c["prompt"][0]["content"] for c in cands}
    convs = P.quiz_for_model(DATA, cands, 12)
    assert len(convs) == 12 and len({c[0]["content"] for c in convs}) == 12
    assert not taken & {c[0]["content"] for c in convs}
    assert [c[1]["role"] for c in convs] == ["assistant"] * 12  # [question, gold], as from_model wants
    pairs, steps = P.pipeline(cands + P.from_model(convs, lambda prompts: ["P."] * len(prompts)))
    assert dict(steps)["after dedup"] == len(cands) + 12  # none of them is dropped as a duplicate prompt
    assert P.quiz_for_model(DATA, cands, 0) == []


def test_build_limit_spreads_over_groups():
    cands = P.build(DATA, limit_per_source=20, sources=["law_exams", "wiki_bias"])
    law = [c for c in cands if c["source"] == "law_exams"]
    groups = {c["group"] for c in P.law_exams(DATA)}
    assert len(law) == 20 and {c["group"] for c in law} == groups  # every exam, not the first one
    assert P.build(DATA, limit_per_source=20, sources=["law_exams", "wiki_bias"]) == cands
    assert P.steps_table([("collected", 3)]).to_dict("records") == [{"step": "collected", "count": 3}]


def _write_gz(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def test_malformed_rows_name_file_and_line(tmp_path):
    task = {"id": 1, "question": "Pytanie?", "choices": {"A": "tak", "B": "nie"}, "answer": "A",
            "legal_basis": "art. 1", "legal_basis_content": "Treść."}
    result = {**task, "correct_answer": "A", "model_answer": "B"}
    law = tmp_path / "polish_law_exams"
    _write_gz(law / "tasks" / "exams" / "2024" / "notarialny.jsonl.gz", [json.dumps(task)])
    results = law / "results_with_metrics" / "exams" / "bielik" / "2024" / "notarialny.jsonl.gz"
    _write_gz(results, [json.dumps(result), '{"id": 2, "question": '])
    with pytest.raises(DataError, match=r"notarialny\.jsonl\.gz, line 2: not valid JSON"):
        P.law_exams(tmp_path)
    _write_gz(results, [json.dumps(result), json.dumps({"id": 1, "question": "Pytanie?"})])
    with pytest.raises(DataError, match=r"notarialny\.jsonl\.gz, line 2: no 'model_answer' field"):
        P.law_exams(tmp_path)
    _write_gz(results, [json.dumps(result)])
    [cand] = P.law_exams(tmp_path)
    assert cand["a"] == "Odpowiedź A: tak\nPodstawa prawna: art. 1 – Treść." and cand["group"] == "notarialny-2024"

    gec = tmp_path / "polish_gec_ermlab" / "human_expert_gec_dataset.jsonl.gz"
    _write_gz(gec, [json.dumps({"document_id": 1, "correct": "Ala.", "incorrect": "ala."})])
    with pytest.raises(DataError, match=r"human_expert_gec_dataset\.jsonl\.gz, line 1: no 'lt_predicted'"):
        P.gec(tmp_path)


def test_idle_steps_are_the_filters_that_removed_nothing():
    from bielik.posttrain.preferences import idle_steps

    steps = [("collected", 10), ("after dedup", 8), ("scored", 8), ("after dropping ties", 8),
             ("after dropping gaps < 2", 8), ("swapped (b scored higher than a)", 0), ("after format check", 7),
             ("final", 7), ("of which heldout", 1)]
    assert idle_steps(steps) == ["after dropping ties", "after dropping gaps < 2", "swapped (b scored higher than a)"]
