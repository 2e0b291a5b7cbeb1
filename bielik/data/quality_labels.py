"""Quality labels for chapter 01, built because no public human-labelled Polish quality set exists.

Three sources of labels, each stated in `LABEL_RULES`:
1. the source itself: edited prose is HIGH, raw OCR pages and ASR transcripts are LOW;
2. web paragraphs (OSCAR): boilerplate and spam LOW by a transparent rule, the rest MEDIUM (mixed web text);
3. synthetic damage to HIGH documents, of the kinds the Bielik v3 report adds: light damage (a repeated
   sentence, typos, menus around an article, topic drift) is MEDIUM; heavy damage (looping, shuffled words,
   truncated fragments, encoding lost to U+FFFD) is LOW.
A damaged copy keeps its original's group, so a split never separates a document from its damaged copy.
"""
from __future__ import annotations

import random
import re

CLASSES = ["LOW", "MEDIUM", "HIGH"]  # class index = position; P(HIGH) is column 2

EDITED_SOURCES = {"novels", "wolnelektury", "wikisource", "wikipedia", "law"}
LOW_SOURCES = {"ocr_raw", "asr"}

LABEL_RULES = [
    ("HIGH", "edited prose: novels, Wolne Lektury, corrected Wikisource pages, Wikipedia, the Civil Code"),
    ("LOW", "raw OCR pages (the same pages as Wikisource, uncorrected) and ASR transcripts"),
    ("LOW", "OSCAR web paragraphs that look like boilerplate or spam (cookie/login/shop text, "
            "no sentences, mostly capitalised words)"),
    ("MEDIUM", "the other OSCAR web paragraphs: mixed web text"),
    ("MEDIUM", "HIGH documents lightly damaged: a repeated sentence, 3% typos, menus around the text, topic drift"),
    ("LOW", "HIGH documents heavily damaged: looping, shuffled words, truncated fragments, encoding lost"),
    ("-", "HPLT snippets: not trained on; batch0's human 'unnatural' labels are the outside check"),
    ("-", "English documents: not trained on; they go to the English share of the pretraining mix"),
]

BOILERPLATE = re.compile(r"cookies|polityk\w* prywatno|zaloguj|koszyk|regulamin|newsletter|"
                         r"wszelkie prawa zastrze|kliknij|zobacz ofert|dodaj do|zarejestruj", re.I)
WORD = re.compile(r"\w+")
SENTENCE_END = re.compile(r"[.!?…](?:\s|$)")


def web_label(text: str) -> str:
    """LOW for boilerplate or spam-like web paragraphs, MEDIUM for the rest."""
    words = WORD.findall(text)
    if BOILERPLATE.search(text):
        return "LOW"
    if len(words) >= 25 and len(SENTENCE_END.findall(text)) < len(words) / 30:
        return "LOW"  # lists, menus, keyword strings: many words, hardly a sentence
    caps = sum(w[0].isupper() for w in words) / max(len(words), 1)
    return "LOW" if caps > 0.35 else "MEDIUM"


def source_label(doc: dict) -> str | None:
    """The label a document's source gives it, or None when it is not trained on."""
    if doc["lang"] != "pl" or doc["source"] in ("hplt", "hub"):
        return None
    if doc["source"] in EDITED_SOURCES:
        return "HIGH"
    if doc["source"] in LOW_SOURCES:
        return "LOW"
    if doc["source"] == "oscar":
        return web_label(doc["text"])
    raise ValueError(f"no labelling rule for source {doc['source']!r}: add one to bielik/data/quality_labels.py")


# --- synthetic damage --------------------------------------------------------------------------------

SENTENCE = re.compile(r"[^.!?…]+[.!?…]+")
POLISH_LETTERS = re.compile(r"[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]")
MENU = ("Strona główna | O nas | Oferta | Kontakt | Zaloguj się\nSzukaj...",
        "Udostępnij: Facebook Twitter E-mail\nPodobne artykuły: Zobacz więcej »",
        "Copyright © 2019 Wszelkie prawa zastrzeżone. Regulamin | Polityka prywatności")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE.findall(text) if s.strip()] or [text]


def repeat_sentence(text: str, rng: random.Random) -> str:
    sents = _sentences(text)
    i = rng.randrange(len(sents))
    return " ".join(sents[: i + 1] + [sents[i]] * rng.randint(1, 2) + sents[i + 1:])


def typos(text: str, rng: random.Random, rate: float = 0.03) -> str:
    def typo(m):
        w = m.group()
        if len(w) < 4 or rng.random() > rate:
            return w
        i = rng.randrange(len(w) - 1)
        return w[:i] + w[i + 1] + w[i] + w[i + 2:] if rng.random() < 0.5 else w[:i] + w[i + 1:]
    return WORD.sub(typo, text)


def menus_around(text: str, rng: random.Random) -> str:
    return f"{MENU[0]}\n{text}\n{rng.choice(MENU[1:])}"


def drift(text: str, rng: random.Random, other: str) -> str:
    half = len(text) // 2
    return text[:half].rsplit(" ", 1)[0] + " " + other[: len(text) - half]


def looping(text: str, rng: random.Random) -> str:
    sents = _sentences(text)
    start = rng.randrange(max(1, len(sents) // 2))
    loop = " ".join(sents[start:start + rng.randint(1, 2)])
    return " ".join(sents[:start] + [loop] * max(3, len(text) // max(len(loop), 1) // 2))[: len(text) * 2]


def shuffled(text: str, rng: random.Random) -> str:
    words = text.split()
    rng.shuffle(words)
    return " ".join(words)


def truncated(text: str, rng: random.Random) -> str:
    pieces = []
    for _ in range(rng.randint(6, 15)):
        a = rng.randrange(max(1, len(text) - 80))
        pieces.append(text[a:a + rng.randint(15, 80)])
    return "\n".join(pieces)


def encoding_lost(text: str, rng: random.Random) -> str:
    """Polish letters lost in a bad conversion: each becomes U+FFFD or '?' (ftfy cannot bring them back)."""
    mark = rng.choice(["\ufffd", "?"])
    return POLISH_LETTERS.sub(mark, text)


LIGHT = {"repeated sentence": repeat_sentence, "typos": typos, "menus around": menus_around, "drift": drift}
HEAVY = {"looping": looping, "shuffled": shuffled, "truncated": truncated, "encoding lost": encoding_lost}


def damage(docs: list[dict], share: float, seed: int = 0) -> list[dict]:
    """Damaged copies of a `share` of the documents: half lightly (MEDIUM), half heavily (LOW)."""
    rng = random.Random(seed)
    picked = rng.sample(docs, int(len(docs) * share)) if docs else []
    out = []
    for i, doc in enumerate(picked):
        heavy = i % 2 == 1
        kinds = HEAVY if heavy else LIGHT
        kind = list(kinds)[(i // 2) % len(kinds)]
        if kind == "drift":
            text = drift(doc["text"], rng, rng.choice(docs)["text"])
        else:
            text = kinds[kind](doc["text"], rng)
        out.append({**doc, "id": f"{doc['id']}#{kind}", "text": text, "source": f"synthetic: {kind}",
                    "label": "LOW" if heavy else "MEDIUM", "origin": "synthetic"})
    return out
