"""Polish grammar minimal pairs: subject–verb agreement, built from UD Polish trees with morfeusz2's generator.

A pair is a sentence of the treebank and the same sentence with one agreement error: the verb, l-participle or
copula that agrees with the subject (`nsubj`, `nsubj:pass`) gets another person, number or gender in its NKJP tag
and morfeusz2 generates the new form (MultiBLiMP's recipe, Jumelet et al. 2025, arXiv 2504.02768). A model is
right on a pair when the grammatical sentence has the higher total log-probability; tiny models that sit at the
constant answer on the leaderboard's tasks can move this one. Also here: the CoNLL-U reader, balancing of the two
directions of each swap, the unigram baseline (a frequency-only model) and the pairs' JSON lines.

The changed value (one per verb and feature, so a verb gives at most three pairs):
- person (`fin`, `bedzie`): ter -> pri, pri -> ter, sec -> ter;
- number (`fin`, `bedzie`, `praet`): sg <-> pl, the other fields kept (praet:sg:m3 -> praet:pl:m3, "spał" -> "spały");
- gender (`praet` only: NKJP's present tense has none): singular m1/m2/m3 -> f, f -> m1, n -> m1; plural m1 -> m2
  (non-virile), m2/m3/f/n -> m1. Not for 1st/2nd-person subjects ("ja byłem" and "ja byłam" are both right).
Subjects with a `conj` child or a comitative "z" + instrumental ("Jan z Marią poszli") are left out: there the
other number can be grammatical too. The data: data/ud_polish/ (PDB dev, CC BY-NC-SA 4.0; PUD test, CC BY-SA 4.0).
"""
from __future__ import annotations

import json
import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bielik.book.artifacts import write_text
from bielik.data.readers import DataError, open_text, read_jsonl

FILES = {"pdb": "pl_pdb-ud-dev.conllu.gz", "pud": "pl_pud-ud-test.conllu.gz"}  # in data/ud_polish/
FEATURES = ("person", "number", "gender")
AGREEING = ("fin", "bedzie", "praet")  # NKJP classes that agree with the subject: present/future, future "być", past
SUBJECTS = ("nsubj", "nsubj:pass")
AGL = {"agl", "nagl"}  # praet's agglutination field ("niósł" nagl / "niosł"+"em" agl): ignored when matching tags
PERSON = {"ter": "pri", "pri": "ter", "sec": "ter"}
NUMBER = {"sg": "pl", "pl": "sg"}
GENDER_SG = {"m1": "f", "m2": "f", "m3": "f", "f": "m1", "n": "m1"}
GENDER_PL = {"m1": "m2", "m2": "m1", "m3": "m1", "f": "m1", "n": "m1"}
FREE_GENDER = {"ja", "ty", "my", "wy"}  # their gender is the referent's, so either form can be right
NUMERAL = ("nummod", "det:numgov", "det:nummod")  # "pięć osób", "wiele osób": the verb's number is not fixed


@dataclass(frozen=True)
class Token:
    id: int
    form: str
    lemma: str
    upos: str
    xpos: str
    feats: str
    head: int
    deprel: str
    misc: str = ""


@dataclass
class Sentence:
    sent_id: str
    text: str
    tokens: list[Token]
    source: str = ""
    multiword: frozenset[int] = frozenset()  # ids of the words inside a multiword token ("był" + "em")
    spans: dict[int, tuple[int, int]] | None = None  # word id -> (start, end) in text; None when they do not align


# --- reading CoNLL-U ------------------------------------------------------------------------------------------

def source_of(path: Path) -> str:
    """pdb or pud from a treebank's file name (else the name itself), the `source` of its pairs."""
    name = Path(path).name
    return next((s for s, f in FILES.items() if name.startswith(f.split("-")[0])), name.split(".")[0])


def _align(text: str, units: list[tuple[list[int], str]]) -> dict[int, tuple[int, int]] | None:
    """Character spans of the surface units (a word, or a multiword token's words) in the sentence's text."""
    spans, pos = {}, 0
    for ids, form in units:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if not text.startswith(form, pos):
            return None
        for i in ids:
            spans[i] = (pos, pos + len(form))
        pos += len(form)
    return spans if not text[pos:].strip() else None


def _sentence(path: Path, line: int, meta: dict, rows: list[tuple[int, list[str]]], source: str) -> Sentence:
    tokens, units, multiword, ranges = [], [], set(), {}
    for n, cols in rows:
        if "." in cols[0]:  # an empty node of enhanced dependencies
            continue
        if "-" in cols[0]:
            a, b = (int(x) for x in cols[0].split("-"))
            ranges[a] = (list(range(a, b + 1)), cols[1], cols[9])
            multiword.update(range(a, b + 1))
            continue
        try:
            tokens.append(Token(int(cols[0]), cols[1], cols[2], cols[3], cols[4], cols[5],
                                int(cols[6]) if cols[6] != "_" else 0, cols[7], cols[9]))
        except ValueError:
            raise DataError(f"{path}, line {n}: the id or head is not a number ({cols[0]!r}, {cols[6]!r})") from None
    for t in tokens:
        if t.id in ranges:
            units.append(ranges[t.id][:2])
        elif t.id not in multiword:
            units.append(([t.id], t.form))
    text = meta.get("text")
    if text is None:  # no `# text =`: the words joined, respecting SpaceAfter=No
        misc = {t.id: t.misc for t in tokens} | {a: r[2] for a, r in ranges.items()}
        text = "".join(form + ("" if "SpaceAfter=No" in misc[ids[0]] else " ") for ids, form in units).rstrip()
    return Sentence(meta.get("sent_id", f"{Path(path).name}:{line}"), text, tokens, source, frozenset(multiword),
                    _align(text, units))


def read_conllu(path: str | Path, source: str | None = None) -> list[Sentence]:
    """The sentences of a CoNLL-U file (gzip or plain); a malformed line is named with its file and number."""
    path = Path(path)
    source = source or source_of(path)
    out, meta, rows, start = [], {}, [], 1
    with open_text(path) as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                if rows:
                    out.append(_sentence(path, start, meta, rows, source))
                meta, rows, start = {}, [], n + 1
            elif line.startswith("#"):
                key, eq, value = line[1:].partition("=")
                if eq:
                    meta.setdefault(key.strip(), value.strip())
            else:
                cols = line.split("\t")
                if len(cols) != 10:
                    raise DataError(f"{path}, line {n}: expected 10 tab-separated columns, got {len(cols)}")
                rows.append((n, cols))
    if rows:
        out.append(_sentence(path, start, meta, rows, source))
    return out


def read_treebanks(folder: str | Path) -> list[Sentence]:
    """Both treebanks of data/ud_polish/, PDB first."""
    return [s for name in FILES.values() for s in read_conllu(Path(folder) / name)]


# --- building the pairs ---------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def default_generator():
    """morfeusz2's generator with its default dictionary (SGJP), loaded once."""
    import morfeusz2

    return morfeusz2.Morfeusz(generate=True)


def tag_matches(wanted: list[str] | str, tag: str) -> bool:
    """Whether morfeusz2's tag (fields with '.'-separated alternatives, "praet:sg:m1.m2.m3:perf") covers the
    wanted NKJP tag, field by field; the agl/nagl field is ignored on both sides."""
    wanted = wanted.split(":") if isinstance(wanted, str) else wanted
    want = [w for w in wanted if w not in AGL]
    have = [h for h in tag.split(":") if h not in AGL]
    return len(want) == len(have) and all(w in h.split(".") for w, h in zip(want, have))


def _preference(entry) -> tuple:
    """Among forms of one tag: the non-agglutinating one first ("mógł", not "mogł"), then unqualified ones."""
    return ("agl" in entry[2].split(":"), bool(entry[4]) if len(entry) > 4 else False)


def swap(fields: list[str], feature: str) -> tuple[list[str], str] | None:
    """The tag with one feature changed and the direction ("sg->pl"), or None if the class has no such feature."""
    kind, new = fields[0], list(fields)
    if len(fields) < 3 or fields[1] not in NUMBER or fields[2] not in (PERSON if kind != "praet" else GENDER_SG):
        return None
    if feature == "number":
        new[1] = NUMBER[fields[1]]
        return new, f"{fields[1]}->{new[1]}"
    if feature == "person" and kind in ("fin", "bedzie"):
        new[2] = PERSON[fields[2]]
        return new, f"{fields[2]}->{new[2]}"
    if feature == "gender" and kind == "praet":
        plural, old = fields[1] == "pl", fields[2]
        new[2] = (GENDER_PL if plural else GENDER_SG)[old]
        return new, f"{_gender_name(old, plural)}->{_gender_name(new[2], plural)}"
    return None


def _gender_name(gender: str, plural: bool) -> str:
    """The genders as the forms tell them apart: m, f, n in the singular; m1 pl, non-m1 pl in the plural."""
    if plural:
        return "m1 pl" if gender == "m1" else "non-m1 pl"
    return "m" if gender in ("m1", "m2", "m3") else gender


def _cased(form: str, like: str) -> str:
    if len(like) > 1 and like.isupper():
        return form.upper()
    return form[:1].upper() + form[1:] if like[:1].isupper() else form


def agreeing_verb(head: Token, children: list[Token]) -> tuple[Token, str] | None:
    """The word that agrees with a subject of `head`, and its role: the copula if the head has one, else the head
    if it is a finite verb or l-participle, else a finite auxiliary ("został" of a passive, "będzie" + infinitive)."""
    cop = [c for c in children if c.deprel == "cop"]
    if cop:
        return (cop[0], "cop") if cop[0].xpos.split(":")[0] in AGREEING else None
    if head.xpos.split(":")[0] in AGREEING:
        return head, "head"
    aux = [c for c in children if c.deprel in ("aux", "aux:pass") and c.xpos.split(":")[0] in AGREEING]
    return (aux[0], "aux") if aux else None


def _coordinated(subject: Token, children: dict[int, list[Token]]) -> bool:
    """A coordinated ("Jan i Maria") or comitative ("Jan z Marią") subject, where either number may be right."""
    for c in children[subject.id]:
        if c.deprel.startswith("conj"):
            return True
        if (c.deprel.startswith("nmod") and "Case=Ins" in c.feats
                and any(g.deprel == "case" and g.lemma.lower() == "z" for g in children[c.id])):
            return True
    return False


def _free(feature: str, subject: Token, children: dict[int, list[Token]]) -> str:
    """Why the changed feature could be right with this subject, or "": gender with "ja", "ty", "my", "wy" (the
    referent's); person unless the subject is a noun or personal pronoun ("wszyscy będziemy", "ja, który jestem");
    number with a numeral subject ("10 mld zł trafi" and "trafią")."""
    if feature == "gender" and subject.lemma.lower() in FREE_GENDER:
        return "1st/2nd-person subject"
    if feature == "person" and not (subject.upos in ("NOUN", "PROPN")
                                     or (subject.upos == "PRON" and "Person=" in subject.feats)):
        return "subject is not a noun or personal pronoun"
    if feature == "number" and (subject.upos == "NUM" or subject.xpos.startswith("num")
                                or any(c.deprel.startswith(NUMERAL) for c in children[subject.id])):
        return "numeral subject"
    return ""


def agreement_pairs(sentences: list[Sentence], generator=None, skipped: Counter | None = None) -> list[dict]:
    """Minimal pairs of every subject–verb agreement the generator can change, in sentence order; `skipped`, if
    given, counts why candidates were left out (per subject for the whole verb, per feature for a feature)."""
    gen = generator or default_generator()
    skipped = skipped if skipped is not None else Counter()
    cache: dict[str, list] = {}
    pairs = []
    for s in sentences:
        by_id = {t.id: t for t in s.tokens}
        children: dict[int, list[Token]] = defaultdict(list)
        for t in s.tokens:
            children[t.head].append(t)
        done = set()
        for subj in s.tokens:
            if subj.deprel not in SUBJECTS or subj.head not in by_id:
                continue
            found = agreeing_verb(by_id[subj.head], children[subj.head])
            if found is None:
                skipped["no agreeing verb, l-participle or copula"] += 1
                continue
            verb, role = found
            if verb.id in done:
                skipped["verb already paired with another subject"] += 1
                continue
            done.add(verb.id)
            if verb.id in s.multiword:
                skipped["verb inside a multiword token"] += 1
                continue
            if _coordinated(subj, children):
                skipped["coordinated or comitative subject"] += 1
                continue
            if s.spans is None or verb.id not in s.spans:
                skipped["words do not align with the text"] += 1
                continue
            if verb.lemma not in cache:
                cache[verb.lemma] = sorted(gen.generate(verb.lemma), key=_preference)
            entries = [e for e in cache[verb.lemma] if e[2] != "ign"]
            fields = verb.xpos.split(":")
            if not entries:
                skipped["lemma unknown to morfeusz2"] += 1
                continue
            homonyms = {e[1] for e in entries if e[0].lower() == verb.form.lower() and tag_matches(fields, e[2])}
            if not homonyms:
                skipped["original form and tag not generated back"] += 1
                continue
            start, end = s.spans[verb.id]
            for feature in FEATURES:
                changed = swap(fields, feature)
                if changed is None:
                    continue
                why = _free(feature, subj, children)
                if why:
                    skipped[f"{feature}: {why}"] += 1
                    continue
                new_fields, direction = changed
                forms = [e for e in entries if e[1] in homonyms and tag_matches(new_fields, e[2])]
                if not forms:
                    skipped[f"{feature}: no generated form"] += 1
                    continue
                if forms[0][0].lower() == verb.form.lower():
                    skipped[f"{feature}: generated form equals the original"] += 1
                    continue
                new = _cased(forms[0][0], verb.form)
                new_tag = ":".join(f for f in new_fields if f not in AGL or f in forms[0][2].split(":"))
                pairs.append({"id": f"{s.source}-{s.sent_id}-{verb.id}-{feature}", "source": s.source,
                              "sentence_id": s.sent_id, "feature": feature, "direction": direction,
                              "good": s.text, "bad": s.text[:start] + new + s.text[end:], "verb": verb.form,
                              "new_form": new, "tag": verb.xpos, "new_tag": new_tag, "role": role})
    return pairs


def reverse(direction: str) -> str:
    a, _, b = direction.partition("->")
    return f"{b}->{a}"


def balanced(pairs: list[dict], seed: int = 0) -> tuple[list[dict], dict[str, int]]:
    """Pairs subsampled so that within each feature a direction and its reverse (sg->pl, pl->sg) have equal
    counts: a model preferring one form whatever the context then scores 50%. A direction whose reverse never
    occurs (sec->ter, n->m) is dropped whole. Returns the kept pairs in their order and, per "feature direction",
    how many were dropped."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, p in enumerate(pairs):
        groups[p["feature"], p["direction"]].append(i)
    rng, keep, dropped = random.Random(seed), set(), {}
    for (feature, direction), idx in sorted(groups.items()):
        n = min(len(idx), len(groups.get((feature, reverse(direction)), [])))
        keep.update(rng.sample(idx, n) if n < len(idx) else idx)
        if n < len(idx):
            dropped[f"{feature} {direction}"] = len(idx) - n
    return [p for i, p in enumerate(pairs) if i in keep], dropped


def interleaved(pairs: list[dict], seed: int = 0) -> list[dict]:
    """The pairs of each feature in an order whose every prefix is as balanced as the whole: each direction's
    pairs shuffled, then taken in turn (sg->pl, pl->sg, sg->pl, ...). The harness's `limit` scores the first N
    pairs, so a capped run keeps the balance that `balanced` made."""
    rng, out = random.Random(seed), []
    for feature in FEATURES:
        groups = [[p for p in pairs if p["feature"] == feature and p["direction"] == d]
                  for d in sorted({p["direction"] for p in pairs if p["feature"] == feature})]
        for g in groups:
            rng.shuffle(g)
        out += [g[i] for i in range(max(map(len, groups), default=0)) for g in groups if i < len(g)]
    return out


def counts_by(pairs: list[dict]) -> dict[str, int]:
    """How many pairs per "feature direction", sorted."""
    return dict(sorted(Counter(f"{p['feature']} {p['direction']}" for p in pairs).items()))


# --- the unigram baseline --------------------------------------------------------------------------------------

def token_counts(tokenizer, texts: list[str]) -> Counter:
    """Token id -> count over `texts`, without special tokens: the unigram model's training counts."""
    counts = Counter()
    for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
        counts.update(ids)
    return counts


def unigram_accuracy(pairs: list[dict], tokenizer, counts: dict[int, int]) -> dict:
    """The frequency-only baseline: each sentence scored by the sum of its tokens' add-one-smoothed unigram
    log-probabilities (over the tokenizer's vocabulary); right when good > bad, a tie counts half. Returns the
    overall accuracy, the number of pairs and, per feature, both."""
    total, vocab = sum(counts.values()), len(tokenizer)
    denominator = math.log(total + vocab)

    def score(ids: list[int]) -> float:
        return sum(math.log(counts.get(t, 0) + 1) - denominator for t in ids)

    good = tokenizer([p["good"] for p in pairs], add_special_tokens=False)["input_ids"] if pairs else []
    bad = tokenizer([p["bad"] for p in pairs], add_special_tokens=False)["input_ids"] if pairs else []
    right: dict[str, list[float]] = defaultdict(list)
    for p, g, b in zip(pairs, good, bad):
        sg, sb = score(g), score(b)
        right[p["feature"]].append(1.0 if sg > sb else 0.5 if sg == sb else 0.0)
    every = [r for rs in right.values() for r in rs]
    return {"accuracy": sum(every) / len(every) if every else float("nan"), "pairs": len(every),
            "features": {f: {"accuracy": sum(right[f]) / len(right[f]), "pairs": len(right[f])}
                         for f in FEATURES if right.get(f)}}


def unigram_bits_per_byte(tokenizer, counts: dict[int, int], texts: list[str]) -> float:
    """The same frequency-only model's bits per byte on `texts`: every token's add-one-smoothed unigram
    log-probability, in bits, summed and divided by the texts' UTF-8 bytes. A language model that has learned
    nothing beyond token frequencies sits here, so it is the floor that bits per byte is read against."""
    total, vocab = sum(counts.values()), len(tokenizer)
    denominator = math.log2(total + vocab)
    ids = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    bits = sum(denominator - math.log2(counts.get(t, 0) + 1) for row in ids for t in row)
    return bits / max(1, sum(len(t.encode()) for t in texts))


# --- files ---------------------------------------------------------------------------------------------------

def write_jsonl(pairs: list[dict], path: str | Path) -> Path:
    """The pairs as JSON lines, written atomically."""
    return write_text(path, "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs))


def read_pairs(path: str | Path) -> list[dict]:
    """Pairs written by `write_jsonl` (.gz too); a line without good and bad sentences is named."""
    path, out = Path(path), []
    for n, row in read_jsonl(path):
        if not isinstance(row.get("good"), str) or not isinstance(row.get("bad"), str):
            raise DataError(f"{path}, line {n}: a pair needs 'good' and 'bad' sentences")
        out.append(row)
    return out
