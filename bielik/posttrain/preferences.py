"""Polish preference pairs for chapter 06 (DPO-Positive), built from data/ by a simplified version of the
seven-step pipeline of the Bielik v2 report (section 4.4.1):

1. instructions collected: five readers below turn data/ sources into *candidates*, each a prompt with two
   responses `a` and `b` and their origins; `a` is the one its source presumes better, but nothing is
   ordered yet: the scores decide (`from_model` adds the SFT model's own answers against the gold);
2. deduplication: MinHash LSH over character 5-grams of the prompt's user text (`dedup`);
3. responses of several origins: gold keys, human experts, editors, LanguageTool, a model, wrong answers;
4. a score 0-10 per response. The report used LLM judges (LLaMA 70B, Mixtral 8x22B); at `tiny` scale there
   is no judge, so `score` is a transparent rule from the origin and checkable properties (`SCORING`);
5. ties and score gaps below 2 dropped, chosen and rejected swapped when `b` scored higher than `a`;
6. one format (trl's conversational DPO columns); empty, over-long and malformed pairs removed;
7. manual review: not done here. Nobody reads these pairs before training; a chapter can only show samples.

A candidate: {id, source, group, prompt, a, b, origin_a, origin_b, reference?, original?}; `reference` is
the gold text that model and LanguageTool outputs are compared with, `original` the uncorrected sentence.
A pair: {id, source, group, split, prompt, chosen, rejected, score_chosen, score_rejected}, `split` by a
stable hash of the group ("train" or "heldout"), so one exam, document or question never sits in both.
"""
from __future__ import annotations

import difflib
import itertools
import re
import zlib
from pathlib import Path
from typing import Callable

import pandas as pd

from bielik.data.instructions import quiz_qa
from bielik.data.readers import DataError, dyk_eval_ids, read_dyk, read_jsonl, read_tsv
from bielik.data.sampling import evenly, round_robin
from bielik.data.splits import gec_for_the_track, split_of, stable_fraction

# --- step 4: the rule-based judge ----------------------------------------------------------------

REFERENCE = 9.0  # gold, expert and editor texts: trusted, but a judge rarely gives a human text 10
WORSE = 2.0  # a response its source marks as wrong, biased or uncorrected
PENALTY_ENCODING = 3.0  # U+FFFD: letters lost in a bad conversion
PENALTY_UNBALANCED = 2.0  # an unclosed bracket or quotation mark

REFERENCE_ORIGINS = {"gold", "expert", "editor"}
WORSE_ORIGINS = {"wrong", "uncorrected", "biased", "distractor"}

SCORING_COLUMNS = ["origin", "score", "why"]
SCORING = [
    ("gold", f"{REFERENCE:g}", "the official key: exam board, quiz key, KLEJ DYK label 1"),
    ("expert", f"{REFERENCE:g}", "a human expert's correction of the sentence (Ermlab GEC)"),
    ("editor", f"{REFERENCE:g}", "a Wikipedia editor's neutralising revision of the sentence"),
    ("languagetool", f"{WORSE:g} + {REFERENCE - WORSE:g} x progress from the uncorrected sentence to the "
                     "correction (difflib ratio), 0-1",
     "a rule-based checker fixes some errors; equal to the correction it ties with it"),
    ("model", "10 x difflib ratio to the gold (case and spaces ignored)",
     "no judge: closeness to the key; may beat a gold text that has a defect"),
    ("wrong", f"{WORSE:g}", "Bielik's wrong exam answer; a DYK sentence labelled as not answering"),
    ("uncorrected", f"{WORSE:g}", "the sentence with its errors left in"),
    ("biased", f"{WORSE:g}", "the sentence before the editor removed its bias"),
    ("distractor", f"{WORSE:g}", "the gold answer of another quiz question"),
    ("wrong, uncorrected, biased, distractor", "as the reference, when equal to it",
     "a text equal to the key is right whatever its origin (ties with it)"),
    ("any", "0 if empty", "nothing to prefer"),
    ("any", f"-{PENALTY_ENCODING:g} with U+FFFD", "encoding lost"),
    ("any", f"-{PENALTY_UNBALANCED:g} with an unbalanced bracket or quotation mark", "malformed text"),
]

BRACKETS = ["()", "[]", "{}", "«»"]
QUOTES = '"„“”'  # Polish „…” or „…“, English “…”, straight "…": an even number when all are closed


def _norm(text: str) -> str:
    return " ".join(text.split())


def _ratio(x: str, y: str) -> float:
    return difflib.SequenceMatcher(None, x, y, autojunk=False).ratio()


def unbalanced(text: str) -> bool:
    return any(text.count(o) != text.count(c) for o, c in BRACKETS) or sum(map(text.count, QUOTES)) % 2 == 1


def score(text: str, origin: str, reference: str | None = None, original: str | None = None) -> float:
    """A score in [0, 10] for one response, by the rules of `SCORING`, in place of the report's LLM judges.

    The base comes from the origin: 9 for a text a person vouched for (exam key, expert correction, an
    editor's revision), 2 for one its source marks as worse (a wrong answer, the biased or uncorrected
    sentence, another question's answer) unless it equals the reference, LanguageTool's output between the
    two by how far it got from the `original` sentence towards the `reference` correction, and a model's
    answer 10 x its similarity to the `reference`. Then the defects anyone can check: an empty text scores
    0, U+FFFD costs 3, an unbalanced bracket or quotation mark 2.

    Unlike a judge these rules never doubt a source's own label, so on data/ the rejected side never
    outscores the chosen one; a model answer can, when it matches a gold text that has a defect.
    """
    if not isinstance(text, str) or not text.strip():
        return 0.0
    if origin in REFERENCE_ORIGINS:
        base = REFERENCE
    elif origin in WORSE_ORIGINS:
        # a "wrong" text that equals the key is not wrong: same score, so the pair is a tie
        base = REFERENCE if reference is not None and _norm(text) == _norm(reference) else WORSE
    elif origin == "languagetool":
        base = WORSE + (REFERENCE - WORSE) * _progress(text, reference, original)
    elif origin == "model":
        if reference is None:
            raise ValueError("a model answer is scored against the gold answer: pass reference")
        base = 10.0 * _ratio(_norm(text).casefold(), _norm(reference).casefold())
    else:
        raise ValueError(f"no scoring rule for origin {origin!r}: add one to SCORING in bielik/posttrain/preferences.py")
    base -= PENALTY_ENCODING * ("\ufffd" in text) + PENALTY_UNBALANCED * unbalanced(text)
    return round(min(10.0, max(0.0, base)), 3)


def _progress(text: str, reference: str | None, original: str | None) -> float:
    """How far `text` went from `original` towards `reference`: 0 no change (or worse), 1 there."""
    if reference is None or original is None:
        raise ValueError("a LanguageTool output is scored against the correction and the original sentence")
    text, reference, original = _norm(text), _norm(reference), _norm(original)
    if text == reference:
        return 1.0
    start = _ratio(original, reference)
    if start == 1.0:  # nothing was to be corrected: any change is a false alarm
        return 0.0
    return max(0.0, (_ratio(text, reference) - start) / (1.0 - start))


# --- step 1 and 3: candidate readers -------------------------------------------------------------

def _user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def _field(row: dict, key: str, path: Path, n: int, kind: type | tuple[type, ...] = object):
    """row[key], or a DataError naming the file and line when it is missing or not of `kind`."""
    if key not in row:
        raise DataError(f"{path}, line {n}: no {key!r} field")
    if not isinstance(row[key], kind):
        raise DataError(f"{path}, line {n}: {key!r} is {type(row[key]).__name__}, not {kind}")
    return row[key]


def _law_answer(choices: dict, letter: str, basis: str, content: str) -> str:
    text = f"Odpowiedź {letter}: {choices[letter].rstrip(' ,;')}"
    if basis.strip():
        text += f"\nPodstawa prawna: {basis.strip()}" + (f" – {content.strip()}" if content.strip() else "")
    return text


def law_exams(data_dir: Path) -> list[dict]:
    """Bar, notary and bailiff exam questions Bielik answered wrongly: the key with its legal basis against
    Bielik's answer with the basis it cited. Results join the tasks on `id` within one year and exam."""
    folder = Path(data_dir) / "polish_law_exams"
    out = []
    for path in sorted((folder / "results_with_metrics" / "exams" / "bielik").glob("*/*.jsonl.gz")):
        year, exam = path.parent.name, path.name.removesuffix(".jsonl.gz")
        task_path = folder / "tasks" / "exams" / year / path.name
        tasks = {_field(t, "id", task_path, m): (m, t) for m, t in read_jsonl(task_path)}
        for n, row in read_jsonl(path):
            if _field(row, "id", path, n) not in tasks:
                raise DataError(f"{path}, line {n}: id {row['id']} is not in {task_path}")
            m, task = tasks[row["id"]]
            question = _field(task, "question", task_path, m, str)
            if _field(row, "question", path, n) != question:
                raise DataError(f"{path}, line {n}: id {row['id']} has another question than {task_path}, line {m}")
            gold, given = _field(task, "answer", task_path, m), _field(row, "model_answer", path, n)
            if gold == given:
                continue
            choices = _field(task, "choices", task_path, m, dict)
            if gold not in choices or given not in choices:
                raise DataError(f"{path}, line {n}: answer {given!r} or key {gold!r} is not one of {list(choices)}")
            listing = "\n".join(f"{k}) {v}" for k, v in choices.items())
            prompt = f"{question}\n{listing}\nWskaż poprawną odpowiedź i podaj podstawę prawną."
            a = _law_answer(choices, gold, task.get("legal_basis") or "", task.get("legal_basis_content") or "")
            b = _law_answer(choices, given, row.get("model_legal_basis") or "",
                            row.get("model_legal_basis_content") or "")
            out.append({"id": f"law_exams/{year}/{exam}/{row['id']}", "source": "law_exams",
                        "group": f"{exam}-{year}", "prompt": _user(prompt), "a": a, "b": b,
                        "origin_a": "gold", "origin_b": "wrong", "reference": a})
    return out


def gec(data_dir: Path) -> list[dict]:
    """Sentences with errors: the expert's correction against LanguageTool's output when LanguageTool
    changed something, else against the sentence left uncorrected. A third of the sentences have nothing
    to correct: the unchanged sentence then ties with itself, or beats LanguageTool's false alarm."""
    path = Path(data_dir) / "polish_gec_ermlab" / "human_expert_gec_dataset.jsonl.gz"
    out = []
    for n, row in read_jsonl(path):
        correct, wrong = _field(row, "correct", path, n, str), _field(row, "incorrect", path, n, str)
        lt = _field(row, "lt_predicted", path, n, (str, type(None)))
        if not wrong.strip():  # one blank row in the file: no sentence to correct
            continue
        if gec_for_the_track(row.get("document_id")):  # the grammar track's corrections: never trained on
            continue
        lt_changed = lt is not None and _norm(lt) != _norm(wrong)
        out.append({"id": f"gec/{row.get('document_id')}/{row.get('sentence_id', n)}", "source": "gec",
                    "group": str(_field(row, "document_id", path, n)),
                    "prompt": _user(f"Popraw błędy językowe w zdaniu: {wrong}"),
                    "a": correct, "b": lt if lt_changed else wrong,
                    "origin_a": "expert", "origin_b": "languagetool" if lt_changed else "uncorrected",
                    "reference": correct, "original": wrong})
    return out


DETOKENISE = [(re.compile(r"\s+([,.;:!?%)\]]|\.\.\.)"), r"\1"), (re.compile(r"([(\[])\s+"), r"\1")]
QUOTE_TOKEN = re.compile(r"\s*(?:``|'')\s*")


def _quotes(text: str) -> str:
    """`` and '' become „ and ” by turns: the tokeniser wrote Polish closing quotes as `` too."""
    n = itertools.count()
    return QUOTE_TOKEN.sub(lambda m: " „" if next(n) % 2 == 0 else "” ", text)


def detokenise(text: str) -> str:
    """Undo the tokeniser of the Wikipedia bias data lightly: no space before punctuation or after an
    opening bracket, Polish quotation marks, a capital first letter. Lower-cased names stay lower-cased."""
    text = _quotes(text)
    for pattern, repl in DETOKENISE:
        text = pattern.sub(repl, text)
    text = " ".join(text.split())
    return text[:1].upper() + text[1:]


def wiki_bias(data_dir: Path) -> list[dict]:
    """Wikipedia sentences whose bias an editor removed: the neutral revision against the biased one."""
    path = Path(data_dir) / "wiki_bias_pl" / "biased.tsv.gz"
    out = []
    for n, (revision, biased, neutral) in read_tsv(path, 3):
        biased, neutral = detokenise(biased), detokenise(neutral)
        if biased == neutral:
            continue
        out.append({"id": f"wiki_bias/{revision}/{n}", "source": "wiki_bias", "group": revision,
                    "prompt": _user(f"Napisz to zdanie neutralnie, w stylu encyklopedii: {biased}"),
                    "a": neutral, "b": biased, "origin_a": "editor", "origin_b": "biased", "reference": neutral})
    return out


def dyk(data_dir: Path) -> list[dict]:
    """KLEJ 'Czy wiesz?' train rows, minus the questions of the dev (evaluation) set, which KLEJ's row split
    shares with train: for a question with both, the first sentence labelled as answering it against the first
    labelled as not."""
    held = dyk_eval_ids(data_dir)
    questions: dict[str, dict] = {}
    for _, q_id, question, sentence, target in read_dyk(Path(data_dir) / "klej" / "klej_dyk" / "train.tsv.gz"):
        if q_id not in held:
            questions.setdefault(q_id, {"question": question}).setdefault(str(target), sentence)
    out = []
    for q_id, q in questions.items():
        if "0" in q and "1" in q:
            question = q["question"].strip()
            out.append({"id": f"dyk/{q_id}", "source": "dyk", "group": q_id,
                        "prompt": _user(f"{question[:1].upper()}{question[1:]} Odpowiedz jednym zdaniem."),
                        "a": q["1"], "b": q["0"], "origin_a": "gold", "origin_b": "wrong", "reference": q["1"]})
    return out


def quiz(data_dir: Path) -> list[dict]:
    """PolEval 2021 quiz questions (dev-0; test-A stays held out): the key against the key of the
    question half the file away: a fixed wrong answer that looks like an answer (short, a name or a word)."""
    convs = quiz_qa(Path(data_dir) / "poleval2021_quiz_qa", "dev-0")
    out = []
    for i, (question, answer) in enumerate(convs):
        other = convs[(i + len(convs) // 2) % len(convs)][1]["content"]
        out.append({"id": f"quiz/{i + 1}", "source": "quiz", "group": f"quiz{i + 1}", "prompt": [question],
                    "a": answer["content"], "b": other, "origin_a": "gold", "origin_b": "distractor",
                    "reference": answer["content"]})
    return out


def from_model(prompts_with_gold: list[list[dict]], generate: Callable[[list[list[dict]]], list[str]],
               source: str = "model", groups: list[str] | None = None) -> list[dict]:
    """The gold answer against the model's own answer to the same prompt. `prompts_with_gold` are
    conversations ending with the gold assistant turn (as `quiz_qa` gives); `generate` maps the prompts
    (the conversations without that turn) to answers. `groups` default to one per prompt."""
    for i, conv in enumerate(prompts_with_gold):
        if len(conv) < 2 or conv[-1].get("role") != "assistant" or conv[-2].get("role") != "user":
            raise ValueError(f"conversation {i}: expected [..., user, assistant(gold)]")
    prompts = [conv[:-1] for conv in prompts_with_gold]
    answers = list(generate(prompts))
    if len(answers) != len(prompts):
        raise ValueError(f"generate returned {len(answers)} answers for {len(prompts)} prompts")
    # a failed generation is an empty answer: it scores 0 and step 6 removes it
    answers = [a if isinstance(a, str) else "" for a in answers]
    groups = groups or [f"{source}{i}" for i in range(len(prompts))]
    return [{"id": f"{source}/{i}", "source": source, "group": group, "prompt": prompt,
             "a": conv[-1]["content"], "b": answer, "origin_a": "gold", "origin_b": "model",
             "reference": conv[-1]["content"]}
            for i, (prompt, conv, answer, group) in enumerate(zip(prompts, prompts_with_gold, answers, groups))]


def quiz_for_model(data_dir: Path, candidates: list[dict], n: int) -> list[list[dict]]:
    """`n` quiz dev-0 [question, gold] conversations the `quiz` source did not take, spread through the file, for
    `from_model`: a second pair on the same prompt would only be removed again by the deduplication."""
    taken = {_user_text(c["prompt"]) for c in candidates if c["source"] == "quiz"}
    free = [conv for conv in quiz_qa(Path(data_dir) / "poleval2021_quiz_qa", "dev-0")
            if _user_text(conv[:1]) not in taken]
    return evenly(free, n) if n > 0 else []


READERS: dict[str, Callable[[Path], list[dict]]] = {
    "law_exams": law_exams, "gec": gec, "wiki_bias": wiki_bias, "dyk": dyk, "quiz": quiz}


def build(data_dir: Path, seed: int = 0, limit_per_source: int | None = None,
          sources: list[str] | None = None) -> list[dict]:
    """The candidates of the chosen sources; a limit takes them round-robin over groups in an order
    shuffled by `seed`, so it keeps many exams, documents and revisions rather than the top of a file."""
    out = []
    for name in sources or list(READERS):
        rows = READERS[name](Path(data_dir))
        # salted unlike split_of's hash: the same hash would take the held-out groups first
        order = lambda g: stable_fraction(g, f"spread:{seed}")  # noqa: E731
        out += round_robin(rows, limit_per_source, order) if limit_per_source is not None else rows
    return out


# --- step 2: near-duplicate prompts ---------------------------------------------------------------

def shingles(text: str, k: int = 5) -> set[str]:
    """Character k-grams of the lower-cased text with spaces collapsed: robust for short prompts, where
    word 3-shingles change too much when one word does."""
    text = _norm(text).casefold()
    return {text[i:i + k] for i in range(max(1, len(text) - k + 1))}


def _user_text(prompt: list[dict]) -> str:
    return "\n".join(m["content"] for m in prompt if m.get("role") == "user")


def dedup(candidates: list[dict], threshold: float = 0.8, num_perm: int = 128, seed: int = 0) -> list[dict]:
    """The first candidate of each cluster of near-duplicate prompts. MinHash LSH finds the likely
    neighbours among those kept; the exact Jaccard similarity of their shingles decides."""
    from datasketch import MinHash, MinHashLSH

    grams = [shingles(_user_text(c["prompt"])) for c in candidates]
    # one set of permutations for all (generator) and CRC32 instead of SHA-1: the same sketch, 5x faster
    hashes = MinHash.generator(([g.encode() for g in gs] for gs in grams), num_perm=num_perm, seed=seed,
                               hashfunc=zlib.crc32)
    # bands tuned to miss few true neighbours (5% at the threshold, <1% at +0.05): the exact check
    # below throws out the false ones, while the default weights would miss 1 in 14 at Jaccard 0.9
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(0.05, 0.95))
    kept = []
    for i, (c, m) in enumerate(zip(candidates, hashes)):
        if any(len(grams[i] & grams[j]) / len(grams[i] | grams[j]) >= threshold for j in lsh.query(m)):
            continue
        lsh.insert(i, m)
        kept.append(c)
    return kept


# --- steps 4-6 and the split ---------------------------------------------------------------------

def _well_formed(prompt) -> bool:
    return (isinstance(prompt, list) and bool(prompt) and prompt[-1].get("role") == "user"
            and all(isinstance(m, dict) and m.get("role") in ("system", "user", "assistant")
                    and isinstance(m.get("content"), str) and m["content"].strip() for m in prompt))


def _format_ok(c: dict, max_chars: int) -> bool:
    """Step 6: a prompt of role/content messages ending with the user's turn, two different non-empty
    responses, nothing longer than `max_chars`."""
    a, b = c["a"], c["b"]
    return (_well_formed(c["prompt"]) and isinstance(a, str) and isinstance(b, str)
            and bool(a.strip()) and bool(b.strip())
            and max(len(a), len(b), len(_user_text(c["prompt"]))) <= max_chars
            and _norm(a) != _norm(b))  # identical responses teach nothing


def pipeline(candidates: list[dict], min_gap: float = 2.0, heldout: float = 0.1, seed: int = 0,
             threshold: float = 0.8, max_chars: int = 4000) -> tuple[list[dict], list[tuple[str, int]]]:
    """Pairs from candidates by steps 2, 4, 5 and 6, and the count after each step for the book."""
    steps = [("collected", len(candidates))]
    cands = dedup(candidates, threshold=threshold, seed=seed)
    steps.append(("after dedup", len(cands)))
    scored = [(c, score(c["a"], c["origin_a"], c.get("reference"), c.get("original")),
               score(c["b"], c["origin_b"], c.get("reference"), c.get("original"))) for c in cands]
    steps.append(("scored", len(scored)))
    scored = [s for s in scored if s[1] != s[2]]
    steps.append(("after dropping ties", len(scored)))
    scored = [s for s in scored if abs(s[1] - s[2]) >= min_gap]
    steps.append((f"after dropping gaps < {min_gap:g}", len(scored)))
    steps.append(("swapped (b scored higher than a)", sum(sb > sa for _, sa, sb in scored)))
    pairs = [_pair(c, sa, sb, heldout, seed) for c, sa, sb in scored if _format_ok(c, max_chars)]
    steps.append(("after format check", len(pairs)))
    steps.append(("final", len(pairs)))
    steps.append(("of which heldout", sum(p["split"] == "heldout" for p in pairs)))
    return pairs, steps


def idle_steps(steps: list[tuple[str, int]]) -> list[str]:
    """The steps of `pipeline` that changed nothing: filters that removed no candidate, and a swap step that
    swapped none. With a judge that trusts each source's label these cannot act; chapter 06 says which."""
    idle, survivors = [], None
    for name, n in steps:
        if name == "collected":
            survivors = n
        elif name.startswith("after "):
            if n == survivors:
                idle.append(name)
            survivors = n
        elif name.startswith("swapped") and n == 0:
            idle.append(name)
    return idle


def _pair(c: dict, score_a: float, score_b: float, heldout: float, seed: int) -> dict:
    """One format for every source: the higher-scored response is chosen, whichever side it came from."""
    (chosen, sc), (rejected, sr) = sorted([(c["a"], score_a), (c["b"], score_b)], key=lambda x: -x[1])
    split = split_of(str(c["group"]), seed, test=heldout, val=0.0)
    return {"id": c.get("id", f"{c['source']}/{c['group']}"), "source": c["source"], "group": str(c["group"]),
            "split": "heldout" if split == "test" else "train",
            "prompt": [{"role": m["role"], "content": m["content"].strip()} for m in c["prompt"]],
            "chosen": [{"role": "assistant", "content": chosen.strip()}],
            "rejected": [{"role": "assistant", "content": rejected.strip()}],
            "score_chosen": sc, "score_rejected": sr}


def steps_table(steps: list[tuple[str, int]]) -> pd.DataFrame:
    return pd.DataFrame(steps, columns=["step", "count"])
