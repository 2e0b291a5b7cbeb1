"""The Polish supervised fine-tuning set of chapter 05: ChatML conversations with WICEL quality weights.

The report (§4.1-4.2) trains on instructions whose loss is scaled by a per-example quality weight; Bielik 7B v0.1
used 1.0 for human-written data, 0.7 for data generated from pretraining text and then verified, and 0.5 for
generated, unverified data. Every example here carries the tier of its source (`SOURCE_TIERS`, printed in the book)
and that tier's weight (`TIERS`).

An example is a plain dict: id, source, tier, weight, group, split ("train" / "heldout") and messages (an optional
system message, then user/assistant turns ending with the assistant). The split is a stable hash of the group (an
article, an exam sitting, a document), so one article never lands on both sides.

Evaluation data never enters: PolEval quiz test-A is not read, the DYK questions of klej_dyk/dev.tsv are left out of
its train file (the two files split KLEJ's rows, not its questions), and SpeakLeash samples built from an evaluation
set, or sharing text with one, are dropped (`SPEAKLEASH_SKIPPED`, `evaluation_index`).

`inject_low_quality` swaps a share of the train examples for damaged ones, for the WICEL ablation.
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

from bielik.data.instructions import quiz_qa
from bielik.data.readers import (
    DataError,
    dyk_eval_ids,
    open_text,
    read_dyk,
    read_jsonl,
    read_tsv,
)
from bielik.data.sampling import evenly
from bielik.data.splits import gec_for_the_track, split_of, stable_fraction

TIERS = {"human": 1.0, "verified": 0.7, "generated": 0.5}

SOURCE_TIERS: dict[str, tuple[str, str]] = {
    "quiz": ("human", "PolEval 2021 quiz questions with the organisers' gold answers (dev-0 only)"),
    "poquad": ("human", "PoQuAD: annotators wrote the questions and their short answers on Wikipedia passages"),
    "law_exams": ("human", "the official answer key of Polish bar, notary and bailiff exams, with the provision"),
    "gec": ("human", "sentences corrected by human language experts (Ermlab)"),
    "dyk": ("verified", "Wikipedia sentences that annotators marked as answering a 'Did you know' question"),
    "speakleash": ("generated", "made by scripts from public datasets, not checked example by example"),
}

SYSTEM = "Jesteś pomocnym asystentem. Odpowiadasz po polsku."
READ_PASSAGE = "Odpowiedz na pytanie na podstawie tekstu."
NOT_IN_PASSAGE = "W tekście nie ma odpowiedzi na to pytanie."
CHOOSE = "Wybierz poprawną odpowiedź."
ASK_BASIS = "Na jakim przepisie się opierasz?"
CORRECT_GEC = "Popraw błędy językowe w zdaniu: "
NO_ERRORS = "To zdanie jest poprawne, nie wymaga zmian."

# SpeakLeash sources left out whole, by their `source_name`; each reason was checked on the samples
SPEAKLEASH_SKIPPED = {
    "allegro_klej_dyk_questions allegro/klej-dyk": "KLEJ DYK: our DYK dev set comes from the same questions",
    "pl_opinion_sentiment": "tokenised medical reviews like PolEmo 2.0's (via sepidmnorozy/Polish_sentiment)",
    "sentiment_detection": "MMS bundles PolEmo 2.0 reviews (one was already removed from this sample)",
    "ipipan-ipipan_polqa_questions": "PolQA reuses the PolEval 2021 quiz questions, whose test-A we evaluate on",
    "human_expert_gec_dataset": "the same sentences as the gec source, which keeps them at the human tier",
}


def _turns(*pairs: tuple[str, str]) -> list[dict]:
    return [m for u, a in pairs for m in ({"role": "user", "content": u}, {"role": "assistant", "content": a})]


def _example(source: str, key: str, group: str, messages: list[dict]) -> dict:
    return {"id": f"{source}/{key}", "source": source, "tier": SOURCE_TIERS[source][0], "group": group,
            "messages": messages}


def check_messages(messages: list[dict]) -> None:
    """Raise ValueError unless: optional system, then user/assistant alternating, ending with the assistant."""
    roles = [m["role"] for m in messages]
    if roles[:1] == ["system"]:
        roles = roles[1:]
    if not roles or len(roles) % 2 or roles != ["user", "assistant"] * (len(roles) // 2):
        raise ValueError(f"bad turn order {roles}")
    if any(not isinstance(m["content"], str) or not m["content"].strip() for m in messages):
        raise ValueError("empty message")


# --- readers, one per source -------------------------------------------------------------------------

def quiz(data_dir: Path) -> list[dict]:
    """PolEval 2021 quiz, dev-0 only: test-A is the evaluation set."""
    convs = quiz_qa(Path(data_dir) / "poleval2021_quiz_qa", "dev-0")
    return [_example("quiz", f"dev-0/{n}", c[0]["content"], c) for n, c in enumerate(convs, 1)]


def poquad(data_dir: Path, dialogue_share: float = 0.5) -> list[dict]:
    """PoQuAD questions on one Wikipedia passage each. Half of the articles (by hash) become one dialogue of all
    their questions, the passage only in the first turn; the others give one example per question.
    Unanswerable questions are answered honestly: the passage does not say."""
    path = Path(data_dir) / "poquad_ipipan_sample" / "data.json.gz"
    with open_text(path) as f:
        try:
            articles = json.load(f)["data"]
        except (json.JSONDecodeError, KeyError) as e:
            raise DataError(f"{path}: not the SQuAD-like JSON this reader expects ({e})") from None
    out = []
    for a in articles:
        group = f"article{a['id']}"
        for p, para in enumerate(a["paragraphs"]):
            qa = [(q["question"].strip(), _poquad_answer(path, a["id"], q)) for q in para["qas"]]
            first = f"{READ_PASSAGE}\n\nTytuł: {a['title']}\nTekst: {para['context']}\n\nPytanie: "
            if len(qa) > 1 and stable_fraction(f"poquad/{group}/{p}") < dialogue_share:
                pairs = [(first + qa[0][0], qa[0][1])] + qa[1:]
                out.append(_example("poquad", f"{a['id']}/{p}/dialogue", group, _turns(*pairs)))
            else:
                out += [_example("poquad", f"{a['id']}/{p}/{i}", group, _turns((first + q, ans)))
                        for i, (q, ans) in enumerate(qa)]
    return out


def _poquad_answer(path: Path, article: str, q: dict) -> str:
    if q.get("is_impossible"):
        return NOT_IN_PASSAGE  # the annotators wrote these so that the passage does not answer them
    try:
        answer = q["answers"][0]["generative_answer"].strip()
    except (KeyError, IndexError, AttributeError):
        raise DataError(f"{path}: article {article}, question {q.get('question')!r} has no generative_answer")
    if not answer:
        raise DataError(f"{path}: article {article}, question {q['question']!r} has an empty answer")
    return answer


LAW_FIELDS = ("question", "choices", "answer", "legal_basis", "exam_type", "year")


def law_exams(data_dir: Path, dialogue_share: float = 1 / 3) -> list[dict]:
    """Exam MCQs: the key's letter and option, with the legal basis. A third (by hash) of the questions whose
    provision text is at hand become dialogues: the answer, then "which provision?" answered with its text.
    Questions citing a repealed provision are left out (the key may no longer hold); a question repeated in a
    later sitting is kept once, so it cannot sit on both sides of the split."""
    out, seen = [], set()
    for path in sorted((Path(data_dir) / "polish_law_exams" / "tasks" / "exams").glob("*/*.jsonl.gz")):
        for n, row in read_jsonl(path):
            missing = [k for k in LAW_FIELDS if not row.get(k)]
            if missing or row["answer"] not in row["choices"]:
                raise DataError(f"{path}, line {n}: missing {missing or 'answer among the choices'}")
            content = (row.get("legal_basis_content") or "").strip()
            key = (row["question"], tuple(sorted(row["choices"].items())))
            if _repealed(row["legal_basis"], content) or key in seen:
                continue
            seen.add(key)
            group = f"{row['exam_type']}-{row['year']}"
            ex_id = f"{path.parent.name}/{path.name.removesuffix('.jsonl.gz')}/{n}"
            out.append(_example("law_exams", ex_id, group, _law_turns(row, content, stable_fraction(ex_id) < dialogue_share)))
    return out


def _repealed(basis: str, content: str) -> bool:
    """The cited provision is repealed: its text is "(uchylony)", or a paragraph or point (§, pkt) is cited and the
    text ends in "(uchylony)". The PDF text lost superscripts (§ 1¹ reads "§ 1"), so the second rule cannot tell
    the cited paragraph from a later one; it drops two questions, one of them needlessly."""
    return content.startswith("(uchylony)") or (
        ("§" in basis or "pkt" in basis) and re.search(r"\(uchylony\)\.?$", content) is not None)


def _law_turns(row: dict, content: str, dialogue: bool) -> list[dict]:
    options = "\n".join(f"{k}. {v}" for k, v in sorted(row["choices"].items()))
    question = f"{row['question']}\n{options}\n\n{CHOOSE}"
    letter = row["answer"]
    answer = f"Poprawna odpowiedź: {letter}. {row['choices'][letter].rstrip(' ,;.')}"
    basis = row["legal_basis"].strip()
    provision = f"{basis} — {content.rstrip(' ;')}" if content else basis
    if dialogue and content:
        return _turns((question, answer + "."), (ASK_BASIS, f"Podstawa prawna: {provision}"))
    return _turns((question, f"{answer}.\n\nPodstawa prawna: {provision}"))


def gec(data_dir: Path) -> list[dict]:
    """Expert-corrected sentences; a sentence the experts left unchanged is answered "it is correct"."""
    path = Path(data_dir) / "polish_gec_ermlab" / "human_expert_gec_dataset.jsonl.gz"
    out = []
    for n, row in read_jsonl(path):
        if not all(isinstance(row.get(k), str) for k in ("incorrect", "correct")) or "document_id" not in row:
            raise DataError(f"{path}, line {n}: needs 'incorrect', 'correct' and 'document_id'")
        wrong, right = row["incorrect"].strip(), row["correct"].strip()
        if not wrong and not right:
            continue  # one blank row in the file
        if gec_for_the_track(row["document_id"]):  # the grammar track's corrections: never trained on
            continue
        if not wrong or not right:
            raise DataError(f"{path}, line {n}: one of 'incorrect' and 'correct' is empty")
        answer = NO_ERRORS if wrong == right else right
        out.append(_example("gec", f"{row['document_id']}/{row.get('sentence_id', n)}",
                            f"doc{row['document_id']}", _turns((CORRECT_GEC + wrong, answer))))
    return out


def dyk(data_dir: Path) -> list[dict]:
    """KLEJ DYK train rows: question -> the first Wikipedia sentence the annotators marked as its answer.
    dev.tsv is the evaluation set; only its question ids are read, to leave those questions out of train."""
    held = dyk_eval_ids(data_dir)
    answers: dict[str, tuple[str, str]] = {}
    for _, q_id, question, sentence, target in read_dyk(Path(data_dir) / "klej" / "klej_dyk" / "train.tsv.gz"):
        if target == 1 and q_id not in held and q_id not in answers and question and sentence:
            answers[q_id] = (question, sentence)
    return [_example("dyk", q_id, q_id, _turns((q[:1].upper() + q[1:], s))) for q_id, (q, s) in answers.items()]


def speakleash(data_dir: Path) -> list[dict]:
    """SpeakLeash instruction samples, minus the sources in SPEAKLEASH_SKIPPED, exact repeats, and any sample
    that shares a line or an 8-word run with an evaluation set."""
    index = evaluation_index(data_dir)
    out, seen = [], set()
    for path in sorted((Path(data_dir) / "speakleash_instruct_samples").glob("*.json")):
        for i, s in enumerate(_speakleash_items(path)):
            instruct, given, output = (str(s.get(k) or "").strip() for k in ("instruct", "input", "output"))
            if not instruct or not output:
                raise DataError(f"{path}, item {i}: needs 'instruct' and 'output'")
            if (s.get("source_name") in SPEAKLEASH_SKIPPED or (instruct, given, output) in seen
                    or overlaps(index, instruct, given, output)):
                continue
            seen.add((instruct, given, output))
            user = f"{instruct}\n\n{given}" if given else instruct
            out.append(_example("speakleash", f"{path.stem}/{i}", path.name, _turns((user, output))))
    return out


def _speakleash_items(path: Path) -> list[dict]:
    """A sample file is a JSON list of samples; a dict holding such a list, or one sample, is accepted too."""
    with open_text(path) as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}, line {e.lineno}: not valid JSON ({e.msg})") from None
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        data = lists[0] if "instruct" not in data and len(lists) == 1 else [data]
    if not all(isinstance(s, dict) for s in data):
        raise DataError(f"{path}: expected a list of JSON objects")
    return data


READERS = {"quiz": quiz, "poquad": poquad, "law_exams": law_exams, "gec": gec, "dyk": dyk, "speakleash": speakleash}


# --- the evaluation sets, to keep their text out ------------------------------------------------------

WORD = re.compile(r"\w+")
SHINGLE = 8  # words: long enough that a shared run is copied text, not a common phrase


def _norm(text: str) -> list[str]:
    return WORD.findall(text.lower())


def _eval_texts(data_dir: Path):
    d = Path(data_dir)
    with open_text(d / "poleval2021_quiz_qa" / "test-A" / "in.tsv") as f:
        yield from f
    for _, (_, question, sentence, _) in read_tsv(d / "klej" / "klej_dyk" / "dev.tsv.gz", 4):
        yield from (question, sentence)
    for _, (text, _) in read_tsv(d / "klej" / "klej_cbd" / "dev.tsv.gz", 2):
        yield text
    for task in ("klej_nkjp-ner", "klej_polemo2.0-out"):
        yield from (row[0] for _, row in read_tsv(d / "klej" / task / "dev.tsv.gz", 2))
    for split in ("dev", "test"):
        with open_text(d / "8tags" / f"{split}.txt.gz") as f:
            yield from (line.partition(" ")[2] for line in f)
        yield from (t for _, (a, b, _) in read_tsv(d / "sdadas_ppc" / f"{split}.txt.gz", 3) for t in (a, b))


def evaluation_index(data_dir: Path) -> tuple[set[str], set[str]]:
    """(whole texts, 8-word runs) of every evaluation set in data/: quiz test-A, the KLEJ dev files (CBD, DYK,
    NKJP-NER, PolEmo-OUT), 8TAGS and PPC dev and test; lower-cased words joined by spaces."""
    whole, runs = set(), set()
    for text in _eval_texts(data_dir):
        words = _norm(text)
        if words:
            whole.add(" ".join(words))
        runs.update(" ".join(words[i:i + SHINGLE]) for i in range(len(words) - SHINGLE + 1))
    return whole, runs


def overlaps(index: tuple[set[str], set[str]], *texts: str) -> bool:
    """True when a text, or one of its lines, is an evaluation text, or shares an 8-word run with one."""
    whole, runs = index
    for text in texts:
        for piece in [text, *text.split("\n")]:
            words = _norm(piece)
            if words and " ".join(words) in whole:
                return True
        words = _norm(text)
        if any(" ".join(words[i:i + SHINGLE]) in runs for i in range(len(words) - SHINGLE + 1)):
            return True
    return False


# --- the whole set -----------------------------------------------------------------------------------

def build(data_dir: Path, seed: int = 0, heldout: float = 0.1, limit_per_source: int | None = None,
          sources: list[str] | None = None, system_share: float = 0.2) -> list[dict]:
    """Every chosen source read, cut to `limit_per_source` examples spread evenly over it, with its weight, a split
    by group and unique ids; `system_share` of the examples (by hash of the id) open with the system message."""
    out, ids = [], set()
    for name in sources or list(READERS):
        rows = READERS[name](Path(data_dir))
        if not rows:
            raise DataError(f"{data_dir}: the {name} reader found no examples")
        for ex in evenly(rows, limit_per_source) if limit_per_source else rows:
            ex_id, k = ex["id"], 1
            while ex_id in ids:  # never expected, but ids must be unique
                k += 1
                ex_id = f"{ex['id']}#{k}"
            ids.add(ex_id)
            split = "heldout" if split_of(ex["group"], seed, test=heldout, val=0.0) == "test" else "train"
            messages = ex["messages"]
            if stable_fraction(ex_id, seed) < system_share:
                messages = [{"role": "system", "content": SYSTEM}] + messages
            check_messages(messages)
            out.append({"id": ex_id, "source": ex["source"], "tier": ex["tier"], "weight": TIERS[ex["tier"]],
                        "group": ex["group"], "split": split, "messages": messages})
    return out


# --- low-quality data for the WICEL ablation ---------------------------------------------------------

PLAIN = str.maketrans("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ", "acelnoszzACELNOSZZ")


def _wrong(text: str, rng: random.Random, pool: list[str]) -> str:
    """Another example's answer: fluent, confident and about something else."""
    others = [p for p in pool if p != text]
    return rng.choice(others) if others else text


def _truncated(text: str, rng: random.Random, pool: list[str]) -> str:
    """Cut off mid-sentence, at 30-70% of its length: a generation that hit its length limit."""
    cut = max(1, int(len(text) * rng.uniform(0.3, 0.7)))
    space = text.rfind(" ", 0, cut)
    return text[:space] if space > 0 else text[:cut]


def _noise(text: str, rng: random.Random, pool: list[str]) -> str:
    """Polish diacritics dropped and neighbouring letters swapped in some words: careless generated text."""
    def swap(m):
        w = m.group()
        if len(w) < 4 or rng.random() > 0.3:
            return w
        i = rng.randrange(1, len(w) - 2)
        return w[:i] + w[i + 1] + w[i] + w[i + 2:]
    out = WORD.sub(swap, text.translate(PLAIN))
    if out == text and len(text) > 1:  # nothing to drop or swap by chance: swap the first two characters
        out = text[1] + text[0] + text[2:]
    return out


DAMAGE = {"wrong answer": _wrong, "truncated": _truncated, "noise": _noise}


def inject_low_quality(examples: list[dict], share: float, seed: int = 0) -> list[dict]:
    """The same examples with round(share * n_train) train examples REPLACED by damaged versions of themselves,
    so the data size stays equal and only its quality changes. The damage cycles through DAMAGE (another train
    answer of the same source, truncation mid-sentence, character noise); a damaged example is tier "generated",
    weight 0.5, and says how in `damaged` (None elsewhere). Held-out examples are never touched."""
    if not 0 <= share <= 1:
        raise ValueError(f"share must be in [0, 1], got {share}")
    train = [i for i, ex in enumerate(examples) if ex["split"] == "train"]
    picked = sorted(random.Random(seed).sample(train, round(share * len(train))))
    pools: dict[str, list[str]] = {}  # answers of train examples only: held-out text must not leak into train
    for i in train:
        ex = examples[i]
        pools.setdefault(ex["source"], []).extend(m["content"] for m in ex["messages"] if m["role"] == "assistant")
    out = [{**ex, "damaged": None} for ex in examples]
    kinds = list(DAMAGE)
    for j, i in enumerate(picked):
        ex = examples[i]
        rng = random.Random(f"{seed}:{ex['id']}")
        for kind in kinds[j % 3:] + kinds[:j % 3]:  # the next kind when one cannot change this answer
            messages = [{**m, "content": DAMAGE[kind](m["content"], rng, pools[ex["source"]])}
                        if m["role"] == "assistant" else m for m in ex["messages"]]
            if messages != ex["messages"] and all(m["content"].strip() for m in messages):
                break
        out[i] = {**ex, "messages": messages, "tier": "generated", "weight": TIERS["generated"], "damaged": kind}
    return out


# --- the chapter's table -----------------------------------------------------------------------------

def summary(examples: list[dict], tokenizer=None):
    """Examples, dialogues (more than one user turn), damaged examples and the length of all messages and of the
    assistant answers, per source, tier and split. Lengths are whitespace words without a tokenizer (columns
    `words`, `answer_words`), else tokens of a Hugging Face tokenizer (`tokens`, `answer_tokens`)."""
    import pandas as pd

    texts = [m["content"] for ex in examples for m in ex["messages"]]
    if tokenizer is None:
        unit, lengths = "words", [len(t.split()) for t in texts]
    else:
        unit, lengths = "tokens", [len(ids) for ids in tokenizer(texts, add_special_tokens=False).input_ids]
    rows, k = [], 0
    for ex in examples:
        n = len(ex["messages"])
        lens, roles = lengths[k:k + n], [m["role"] for m in ex["messages"]]
        k += n
        rows.append({"source": ex["source"], "tier": ex["tier"], "split": ex["split"], "examples": 1,
                     "dialogues": int(roles.count("user") > 1), "damaged": int(bool(ex.get("damaged"))),
                     unit: sum(lens), f"answer_{unit}": sum(x for x, r in zip(lens, roles) if r == "assistant")})
    columns = ["source", "tier", "split", "examples", "dialogues", "damaged", unit, f"answer_{unit}"]
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(rows).groupby(["source", "tier", "split"], as_index=False).sum()[columns]
