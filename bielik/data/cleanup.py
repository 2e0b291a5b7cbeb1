"""Cleanup as the report's §3.1.1: repair encoding, anonymise personal data, heuristic removals.

`clean_text` runs the per-document steps and counts what each changed; `clean_pool` also drops whole
documents (too short, not Polish, exact duplicates) and returns a table of what every step did.
"""
from __future__ import annotations

import hashlib
import re
from collections import Counter

import ftfy

PLACEHOLDERS = {"email": "<EMAIL>", "url": "<URL>", "phone": "<PHONE>", "pesel": "<PESEL>",
                "address": "<ADDRESS>"}

EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
URL = re.compile(r"\b(?:https?://|ftp://|www\.)[^\s<>\"')\]]+", re.I)
# Polish numbers: +48 600 700 800, 600-700-800, (22) 123 45 67, 22 123 45 67 - nine digits in groups
PHONE = re.compile(r"(?<![\w+])(?:\+48[ -]?|0048[ -]?)?(?:\(\d{2}\)[ -]?\d{3}[ -]?\d{2}[ -]?\d{2}"
                   r"|\d{3}[ -]\d{3}[ -]\d{3}|\d{2}[ -]\d{3}[ -]\d{2}[ -]\d{2})(?![\w-])")
ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")
# ul. Długa 5, al. Jana Pawła II 12/4, os. Tysiąclecia 3 m. 7, pl. Bankowy 2
ADDRESS = re.compile(r"\b(?:ul|al|os|pl)\.\s?(?:[A-ZĄĆĘŁŃÓŚŹŻ0-9][\w.-]*\s){0,3}\d+[a-zA-Z]?"
                     r"(?:\s?/\s?\d+|\s?m\.\s?\d+)?")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200d\ufeff]")
SPACES = re.compile(r"[ \t\u00a0]+")
BLANKS = re.compile(r"\n{3,}")
PAGE_NUMBER_LINE = re.compile(r"^[\s\d\-–—.,/|]*\d[\s\d\-–—.,/|]*$", re.M)

# Repair, don't restyle: keep typographic quotes and full-width forms, which are the author's choice.
# Control characters are left to our own step, so the table says what each step removed.
FTFY = ftfy.TextFixerConfig(uncurl_quotes=False, fix_character_width=False, remove_control_chars=False,
                            normalization="NFC")

POLISH_FUNCTION_WORDS = frozenset(
    "i w na z do się nie że to jest o a jak po co od za przez przy już tak ale jego jej ich dla tylko "
    "oraz lub czy może być był była było są gdy który która które tego tym także też jeszcze bardzo "
    "kiedy gdzie bo więc ten ta te pod nad przed między bez u we ze ku mnie mi go jego sobie".split())


def pesel_valid(digits: str) -> bool:
    """The PESEL check digit: weights 1,3,7,9 repeating over the first ten digits."""
    weights = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
    total = sum(int(d) * w for d, w in zip(digits[:10], weights))
    return (10 - total % 10) % 10 == int(digits[10])


def anonymise(text: str) -> tuple[str, Counter]:
    """Replace e-mails, URLs, phone numbers, PESEL numbers and street addresses with placeholder tokens."""
    counts = Counter()
    for kind, pattern in (("email", EMAIL), ("url", URL), ("phone", PHONE), ("address", ADDRESS)):
        text, n = pattern.subn(PLACEHOLDERS[kind], text)
        counts[kind] += n

    def pesel(m):
        if pesel_valid(m.group()):
            counts["pesel"] += 1
            return PLACEHOLDERS["pesel"]
        return m.group()

    return ELEVEN_DIGITS.sub(pesel, text), counts


def clean_text(text: str) -> tuple[str, Counter]:
    """The per-document steps, in order; the counter says how many characters or items each changed."""
    counts = Counter()
    fixed = ftfy.fix_text(text, FTFY)
    counts["encoding repaired (chars changed)"] = _changed(text, fixed)
    no_ctrl, n = CONTROL.subn("", fixed)
    counts["control characters removed"] = n
    anon, found = anonymise(no_ctrl)
    for kind, k in found.items():
        counts[f"{kind} anonymised"] = k
    no_pages, n = PAGE_NUMBER_LINE.subn("", anon)
    counts["page-number lines removed"] = n
    tidy = BLANKS.sub("\n\n", SPACES.sub(" ", no_pages))
    tidy = "\n".join(line.strip() for line in tidy.split("\n")).strip()
    counts["whitespace chars removed"] = max(0, len(no_pages) - len(tidy))
    return tidy, counts


def _changed(a: str, b: str) -> int:
    """Characters that differ position by position, plus the change in length."""
    return sum(x != y for x, y in zip(a, b)) + abs(len(a) - len(b))


def looks_polish(text: str, min_ratio: float = 0.08) -> bool:
    """At least `min_ratio` of the first 2,000 words are common Polish function words."""
    words = re.findall(r"\w+", text[:20000].lower())[:2000]
    return bool(words) and sum(w in POLISH_FUNCTION_WORDS for w in words) / len(words) >= min_ratio


def exact_key(text: str) -> bytes:
    """What the exact-duplicate check compares: the text's letters and digits, lowercased (so whitespace,
    punctuation and case do not make two copies different)."""
    return hashlib.blake2b(re.sub(r"\W+", "", text.lower()).encode(), digest_size=16).digest()


def clean_doc(doc: dict, min_chars: int = 200, seen: set | None = None) -> tuple[dict, Counter]:
    """One document cleaned, with `dropped` set to the reason it is removed ("" when it is kept)."""
    text, counts = clean_text(doc["text"])
    reason = ""
    if len(text) < min_chars:
        reason = f"shorter than {min_chars} chars"
    elif doc.get("lang", "pl") == "pl" and not looks_polish(text):
        reason = "not Polish"
    elif seen is not None:
        key = exact_key(text)
        if key in seen:
            reason = "exact duplicate"
        seen.add(key)
    return {**doc, "text": text, "dropped": reason}, counts


def clean_pool(docs: list[dict], min_chars: int = 200) -> tuple[list[dict], list[dict]]:
    """Clean every document; drop the too short, the non-Polish (for lang 'pl') and exact duplicates.

    Returns the kept documents (text replaced by the cleaned text) and a table: one row per step with
    the documents it touched and the amount it changed.
    """
    totals, touched, dropped = Counter(), Counter(), Counter()
    seen: set[bytes] = set()
    kept = []
    for doc in docs:
        cleaned, counts = clean_doc(doc, min_chars, seen)
        for step, n in counts.items():
            totals[step] += n
            touched[step] += n > 0
        if cleaned["dropped"]:
            dropped[f"dropped: {cleaned['dropped']}"] += 1
        else:
            kept.append(cleaned)
    table = [{"step": s, "documents changed": touched[s], "amount": totals[s]} for s in totals]
    table += [{"step": s, "documents changed": n, "amount": n} for s, n in dropped.items()]
    return kept, table
