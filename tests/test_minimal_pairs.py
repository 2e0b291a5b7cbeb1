"""The agreement minimal pairs: hand-checked Polish sentences (forms checked with morfeusz2 by hand), the skips,
balancing, the unigram baseline by hand, the pairs of the real PUD treebank and the lm-eval task file."""
import math
from collections import Counter

import pytest

from bielik.data.readers import DataError
from bielik.evaluation import minimal_pairs as mp

from conftest import ROOT

UD = ROOT / "data" / "ud_polish"

# Hand-written trees: "Kot śpi." (fin ter sg), "Dzieci bawiły się." (praet pl non-m1), "Ona była zmęczona."
# (copula praet f), "Ja byłem zmęczony." (the copula inside the multiword token był+em: skipped), a multiword
# token away from the verbs ("myśmy": the text around it must survive), a coordinated subject (skipped), a praet
# with NKJP's 5th field (nagl), one whose masculine has two forms (mógł, mogł-) and a capitalised verb first.
SNIPPET = """\
# sent_id = kot
# text = Kot śpi.
1	Kot	kot	NOUN	subst:sg:nom:m2	Case=Nom|Gender=Masc|Number=Sing	2	nsubj	_	_
2	śpi	spać	VERB	fin:sg:ter:imperf	Number=Sing|Person=3	0	root	_	SpaceAfter=No
3	.	.	PUNCT	interp	PunctType=Peri	2	punct	_	_

# sent_id = dzieci
# text = Dzieci bawiły się.
1	Dzieci	dziecko	NOUN	subst:pl:nom:n	Case=Nom|Gender=Neut|Number=Plur	2	nsubj	_	_
2	bawiły	bawić	VERB	praet:pl:n:imperf	Gender=Neut|Number=Plur	0	root	_	_
3	się	się	PRON	qub	PronType=Prs|Reflex=Yes	2	expl:pv	_	SpaceAfter=No
4	.	.	PUNCT	interp	PunctType=Peri	2	punct	_	_

# sent_id = ona
# text = Ona była zmęczona.
1	Ona	on	PRON	ppron3:sg:nom:f:ter:akc:npraep	Case=Nom|Gender=Fem|Number=Sing|Person=3|PronType=Prs	3	nsubj	_	_
2	była	być	AUX	praet:sg:f:imperf	Gender=Fem|Number=Sing	3	cop	_	_
3	zmęczona	zmęczony	ADJ	adj:sg:nom:f:pos	Case=Nom|Gender=Fem|Number=Sing	0	root	_	SpaceAfter=No
4	.	.	PUNCT	interp	PunctType=Peri	3	punct	_	_

# sent_id = ja
# text = Ja byłem zmęczony.
1	Ja	ja	PRON	ppron12:sg:nom:m1:pri	Case=Nom|Number=Sing|Person=1|PronType=Prs	4	nsubj	_	_
2-3	byłem	_	_	_	_	_	_	_	_
2	był	być	AUX	praet:sg:m1:imperf	Gender=Masc|Number=Sing	4	cop	_	_
3	em	być	AUX	aglt:sg:pri:imperf:nwok	Number=Sing|Person=1	4	aux	_	_
4	zmęczony	zmęczony	ADJ	adj:sg:nom:m1:pos	Case=Nom|Gender=Masc|Number=Sing	0	root	_	SpaceAfter=No
5	.	.	PUNCT	interp	PunctType=Peri	4	punct	_	_

# sent_id = my
# text = Anna śpi, a myśmy pracowali.
1	Anna	Anna	PROPN	subst:sg:nom:f	Case=Nom|Gender=Fem|Number=Sing	2	nsubj	_	_
2	śpi	spać	VERB	fin:sg:ter:imperf	Number=Sing|Person=3	0	root	_	SpaceAfter=No
3	,	,	PUNCT	interp	PunctType=Comm	7	punct	_	_
4	a	a	CCONJ	conj	_	7	cc	_	_
5-6	myśmy	_	_	_	_	_	_	_	_
5	my	my	PRON	ppron12:pl:nom:m1:pri	Case=Nom|Number=Plur|Person=1|PronType=Prs	7	nsubj	_	_
6	śmy	być	AUX	aglt:pl:pri:imperf:nwok	Number=Plur|Person=1	7	aux	_	_
7	pracowali	pracować	VERB	praet:pl:m1:imperf	Gender=Masc|Number=Plur	2	conj	_	SpaceAfter=No
8	.	.	PUNCT	interp	PunctType=Peri	2	punct	_	_

# sent_id = jan
# text = Jan i Maria przyszli.
1	Jan	Jan	PROPN	subst:sg:nom:m1	Case=Nom|Gender=Masc|Number=Sing	4	nsubj	_	_
2	i	i	CCONJ	conj	_	3	cc	_	_
3	Maria	Maria	PROPN	subst:sg:nom:f	Case=Nom|Gender=Fem|Number=Sing	1	conj	_	_
4	przyszli	przyjść	VERB	praet:pl:m1:perf	Gender=Masc|Number=Plur	0	root	_	SpaceAfter=No
5	.	.	PUNCT	interp	PunctType=Peri	4	punct	_	_

# sent_id = mogl
# text = Jan mógł spać.
1	Jan	Jan	PROPN	subst:sg:nom:m1	Case=Nom|Gender=Masc|Number=Sing	2	nsubj	_	_
2	mógł	móc	VERB	praet:sg:m1:imperf:nagl	Gender=Masc|Number=Sing	0	root	_	_
3	spać	spać	VERB	inf:imperf	VerbForm=Inf	2	xcomp	_	SpaceAfter=No
4	.	.	PUNCT	interp	PunctType=Peri	2	punct	_	_

# sent_id = mogla
# text = Anna mogła spać.
1	Anna	Anna	PROPN	subst:sg:nom:f	Case=Nom|Gender=Fem|Number=Sing	2	nsubj	_	_
2	mogła	móc	VERB	praet:sg:f:imperf	Gender=Fem|Number=Sing	0	root	_	_
3	spać	spać	VERB	inf:imperf	VerbForm=Inf	2	xcomp	_	SpaceAfter=No
4	.	.	PUNCT	interp	PunctType=Peri	2	punct	_	_

# sent_id = spi
# text = Śpi kot.
1	Śpi	spać	VERB	fin:sg:ter:imperf	Number=Sing|Person=3	0	root	_	_
2	kot	kot	NOUN	subst:sg:nom:m2	Case=Nom|Gender=Masc|Number=Sing	1	nsubj	_	SpaceAfter=No
3	.	.	PUNCT	interp	PunctType=Peri	1	punct	_	_
"""

EXPECTED = [  # (sentence, feature, direction, bad sentence), in the builder's order
    ("kot", "person", "ter->pri", "Kot śpię."),
    ("kot", "number", "sg->pl", "Kot śpią."),
    ("dzieci", "number", "pl->sg", "Dzieci bawiło się."),
    ("dzieci", "gender", "non-m1 pl->m1 pl", "Dzieci bawili się."),
    ("ona", "number", "sg->pl", "Ona były zmęczona."),
    ("ona", "gender", "f->m", "Ona był zmęczona."),
    ("my", "person", "ter->pri", "Anna śpię, a myśmy pracowali."),
    ("my", "number", "sg->pl", "Anna śpią, a myśmy pracowali."),
    ("my", "number", "pl->sg", "Anna śpi, a myśmy pracował."),  # gender left out: "my" may be women
    ("mogl", "number", "sg->pl", "Jan mogli spać."),
    ("mogl", "gender", "m->f", "Jan mogła spać."),
    ("mogla", "number", "sg->pl", "Anna mogły spać."),
    ("mogla", "gender", "f->m", "Anna mógł spać."),  # morfeusz2 also gives "mogł", the form before "-em"
    ("spi", "person", "ter->pri", "Śpię kot."),
    ("spi", "number", "sg->pl", "Śpią kot."),
]


@pytest.fixture(scope="module")
def snippet(tmp_path_factory):
    path = tmp_path_factory.mktemp("ud") / "hand.conllu"
    path.write_text(SNIPPET, encoding="utf-8")
    return mp.read_conllu(path, source="hand")


@pytest.fixture(scope="module")
def pud():
    return mp.agreement_pairs(mp.read_conllu(UD / mp.FILES["pud"]))


def one_word_changed(good: str, bad: str) -> bool:
    g, b = good.split(), bad.split()
    return len(g) == len(b) and sum(x != y for x, y in zip(g, b)) == 1


def test_hand_checked_sentences_give_exactly_these_pairs(snippet):
    skipped = Counter()
    pairs = mp.agreement_pairs(snippet, skipped=skipped)
    assert [(p["sentence_id"], p["feature"], p["direction"], p["bad"]) for p in pairs] == EXPECTED
    texts = {s.sent_id: s.text for s in snippet}
    assert all(p["good"] == texts[p["sentence_id"]] and p["source"] == "hand" for p in pairs)
    assert skipped == {"verb inside a multiword token": 1, "coordinated or comitative subject": 1,
                       "gender: 1st/2nd-person subject": 1}
    assert pairs[1] == {"id": "hand-kot-2-number", "source": "hand", "sentence_id": "kot", "feature": "number",
                        "direction": "sg->pl", "good": "Kot śpi.", "bad": "Kot śpią.", "verb": "śpi",
                        "new_form": "śpią", "tag": "fin:sg:ter:imperf", "new_tag": "fin:pl:ter:imperf",
                        "role": "head"}
    assert [p["role"] for p in pairs if p["sentence_id"] == "ona"] == ["cop", "cop"]
    assert [p["new_tag"] for p in pairs if p["sentence_id"] == "mogl"] == ["praet:pl:m1:imperf", "praet:sg:f:imperf"]
    assert len({p["id"] for p in pairs}) == len(pairs)
    assert all(one_word_changed(p["good"], p["bad"]) for p in pairs)


def test_the_reader_skips_multiword_ranges_and_rebuilds_text_without_the_comment(snippet, tmp_path):
    my = next(s for s in snippet if s.sent_id == "my")
    assert [t.form for t in my.tokens] == ["Anna", "śpi", ",", "a", "my", "śmy", "pracowali", "."]
    assert my.multiword == {5, 6} and my.spans[7] == (18, 27) and my.spans[5] == my.spans[6] == (12, 17)
    path = tmp_path / "no_text.conllu.gz"
    import gzip

    path.write_bytes(gzip.compress("\n".join(line for line in SNIPPET.splitlines()
                                             if not line.startswith("# text")).encode() + b"\n"))
    again = mp.read_conllu(path, source="hand")
    assert [s.text for s in again] == [s.text for s in snippet]
    assert mp.agreement_pairs(again) == mp.agreement_pairs(snippet)


def test_a_malformed_line_is_named(tmp_path):
    path = tmp_path / "bad.conllu"
    path.write_text(SNIPPET.replace("2\tśpi\tspać", "2\tśpi spać", 1), encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.conllu, line 4: expected 10"):
        mp.read_conllu(path)


def test_morfeusz_tags_match_field_by_field_with_alternatives():
    assert mp.tag_matches("praet:sg:m2:perf", "praet:sg:m1.m2.m3:perf")
    assert not mp.tag_matches("praet:sg:f:perf", "praet:sg:m1.m2.m3:perf")
    assert mp.tag_matches("praet:sg:m1:imperf:nagl", "praet:sg:m1.m2.m3:imperf:nagl")
    assert mp.tag_matches("praet:pl:m1:imperf:nagl", "praet:pl:m1:imperf")  # plural has no agl field
    assert not mp.tag_matches("fin:sg:ter:imperf", "fin:sg:ter:perf")
    assert not mp.tag_matches("fin:sg:ter", "fin:sg:ter:imperf")


class Generator:
    """A stand-in for morfeusz2's generator: the entries of each lemma, as (form, lemma, tag, names, labels)."""

    def __init__(self, entries):
        self.entries = entries

    def generate(self, lemma):
        return self.entries.get(lemma, [(lemma, lemma, "ign", [], [])])


def test_unknown_lemmas_and_forms_not_generated_back_are_skipped(snippet):
    kot = [s for s in snippet if s.sent_id == "kot"]
    skipped = Counter()
    assert mp.agreement_pairs(kot, Generator({}), skipped) == []
    assert skipped == {"lemma unknown to morfeusz2": 1}
    skipped = Counter()  # the lemma is known, but not with "śpi" as fin:sg:ter: lemma or tag are not what it knows
    gen = Generator({"spać": [("śpią", "spać", "fin:pl:ter:imperf", [], []),
                              ("śpi", "spać", "impt:sg:sec", [], [])]})
    assert mp.agreement_pairs(kot, gen, skipped) == []
    assert skipped == {"original form and tag not generated back": 1}
    skipped = Counter()  # only the plural exists: the person pair is missing and counted, the number pair is made
    gen = Generator({"spać": [("śpi", "spać", "fin:sg:ter:imperf", [], []),
                              ("śpią", "spać", "fin:pl:ter:imperf", [], [])]})
    assert [p["bad"] for p in mp.agreement_pairs(kot, gen, skipped)] == ["Kot śpią."]
    assert skipped == {"person: no generated form": 1}
    skipped = Counter()  # a homonym's forms are not borrowed: "stoi" is stać:Vi, "staną" belongs to stać:Vp
    gen = Generator({"spać": [("śpi", "spać:A", "fin:sg:ter:imperf", [], []),
                              ("śpią", "spać:B", "fin:pl:ter:imperf", [], [])]})
    assert mp.agreement_pairs(kot, gen, skipped) == []
    assert skipped == {"person: no generated form": 1, "number: no generated form": 1}


def test_balancing_evens_each_direction_with_its_reverse():
    pairs = ([{"id": f"a{i}", "feature": "number", "direction": "sg->pl"} for i in range(3)]
             + [{"id": "b0", "feature": "number", "direction": "pl->sg"}]
             + [{"id": f"c{i}", "feature": "person", "direction": "ter->pri"} for i in range(2)]
             + [{"id": "d0", "feature": "person", "direction": "sec->ter"}]
             + [{"id": f"e{i}", "feature": "gender", "direction": "m->f"} for i in range(2)]
             + [{"id": f"f{i}", "feature": "gender", "direction": "f->m"} for i in range(2)])
    kept, dropped = mp.balanced(pairs, seed=0)
    assert dropped == {"number sg->pl": 2, "person sec->ter": 1, "person ter->pri": 2}
    assert mp.counts_by(kept) == {"gender f->m": 2, "gender m->f": 2, "number pl->sg": 1, "number sg->pl": 1}
    assert [p["id"] for p in kept] == [p["id"] for p in pairs if p in kept]  # in the original order
    assert mp.balanced(pairs, seed=0) == (kept, dropped)  # deterministic


class WordTokenizer:
    """Whitespace words as token ids, over a four-word vocabulary."""

    def __init__(self):
        self.vocab = {"a": 0, "b": 1, "c": 2, "d": 3}

    def __len__(self):
        return len(self.vocab)

    def __call__(self, texts, add_special_tokens=True):
        assert add_special_tokens is False
        return {"input_ids": [[self.vocab[w] for w in t.split()] for t in texts]}


def test_unigram_baseline_by_hand():
    tok = WordTokenizer()
    counts = mp.token_counts(tok, ["a a a", "a a b", "c c"])
    assert counts == Counter({0: 5, 1: 1, 2: 2})
    # add-one over 4 tokens, 8 counted: p(a) = 6/12, p(b) = 2/12, p(c) = 3/12, p(d) = 1/12
    pairs = [{"feature": "number", "good": "a c", "bad": "a b"},  # log 6/12 + log 3/12 > log 6/12 + log 2/12: right
             {"feature": "gender", "good": "b", "bad": "c"},  # log 2/12 < log 3/12: wrong
             {"feature": "person", "good": "d a", "bad": "a d"}]  # the same tokens: a tie, half
    assert mp.unigram_accuracy(pairs, tok, counts) == {
        "accuracy": 0.5, "pairs": 3, "features": {"person": {"accuracy": 0.5, "pairs": 1},
                                                 "number": {"accuracy": 1.0, "pairs": 1},
                                                 "gender": {"accuracy": 0.0, "pairs": 1}}}
    # an unseen token keeps its add-one mass: log 1/12 = -2.48 beats 2 log 2/12 = -3.58
    assert math.log(1 / 12) > 2 * math.log(2 / 12)
    assert mp.unigram_accuracy([{"feature": "number", "good": "d", "bad": "b b"}], tok, counts)["accuracy"] == 1.0



def test_unigram_bits_per_byte_by_hand():
    tok = WordTokenizer()
    counts = mp.token_counts(tok, ["a a a", "a a b", "c c"])  # p(a) = 6/12, p(b) = 2/12, p(c) = 3/12, p(d) = 1/12
    # "a b" and "d": -log2(1/2) - log2(1/6) - log2(1/12) = 1 + 2.585 + 3.585 bits over 3 + 1 bytes
    expected = (1 + math.log2(6) + math.log2(12)) / 4
    assert mp.unigram_bits_per_byte(tok, counts, ["a b", "d"]) == pytest.approx(expected)
    assert mp.unigram_bits_per_byte(tok, counts, []) == 0

def test_pairs_are_written_and_read_back(tmp_path, snippet):
    pairs = mp.agreement_pairs(snippet)
    path = mp.write_jsonl(pairs, tmp_path / "pairs" / "agreement.jsonl")
    assert mp.read_pairs(path) == pairs
    assert not [p for p in path.parent.iterdir() if p != path]  # no temporary file left beside it
    path.write_text(path.read_text(encoding="utf-8") + '{"good": "Kot śpi."}\n', encoding="utf-8")
    with pytest.raises(DataError, match=rf"agreement.jsonl, line {len(pairs) + 1}: a pair needs"):
        mp.read_pairs(path)


def test_the_pud_treebank_gives_hundreds_of_sound_pairs(pud):
    assert len(pud) >= 500
    assert {p["feature"] for p in pud} == set(mp.FEATURES) and {p["source"] for p in pud} == {"pud"}
    assert not [p for p in pud if p["good"] == p["bad"] or p["verb"].lower() == p["new_form"].lower()]
    assert all(one_word_changed(p["good"], p["bad"]) for p in pud)
    assert len({p["id"] for p in pud}) == len(pud)
    assert len({(p["sentence_id"], p["id"].rsplit("-", 2)[1], p["feature"]) for p in pud}) == len(pud)
    kept, dropped = mp.balanced(pud)
    counts = mp.counts_by(kept)
    assert all(counts[k] == counts[f"{k.split()[0]} {mp.reverse(k.split(' ', 1)[1])}"] for k in counts)
    assert len(kept) + sum(dropped.values()) == len(pud) and len(kept) >= 300
    # PUD's first sentence: "... pokojowe przejęcie władzy nie jest ..." ("jestem", "są"); "napisał ... asystent"
    first = {(p["feature"], p["verb"], p["new_form"]) for p in pud if p["sentence_id"] == "n01001011"}
    assert first == {("person", "jest", "jestem"), ("number", "jest", "są"), ("number", "napisał", "napisali"),
                     ("gender", "napisał", "napisała")}


def test_a_track_task_scores_each_whole_sentence_without_a_prompt(monkeypatch, snippet):
    from bielik.evaluation import grammar, harness

    pairs = [p for p in mp.agreement_pairs(snippet) if p["feature"] == "person"]
    monkeypatch.setattr(grammar, "docs", lambda name, data_dir: pairs)
    task = harness.task_manager().load(["pl_agreement_person"])["tasks"]["pl_agreement_person"]
    assert [m for m in task._metric_fn_list] == ["acc"]
    doc = task.test_docs()[0]
    assert task.doc_to_target(doc) == 0 and task.doc_to_choice(doc) == ["Kot śpi.", "Kot śpię."]
    requests = task.construct_requests(doc, "", metadata=("pl_agreement_person", 0, 1))
    assert [r.args for r in requests] == [("", "Kot śpi."), ("", "Kot śpię.")]
