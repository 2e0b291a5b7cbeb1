"""Stylometric features of a Polish document for the quality classifier (Report §3.1.2).

The report describes each document by about 150 features "inspired by StyloMetrix" plus Markdown features,
and names only its top 25 by SHAP; the definitions here are ours, one line each in `FEATURES`.
`extract(text)` returns them all as finite floats (0 where a denominator is empty).

Design choices, for speed on millions of documents and safety on any input:
- Every feature except `n_chars_log` looks at the first `MAX_CHARS` characters (NFC-normalised, CRLF -> LF),
  so a 5 MB single line costs what a 100 kB document costs. Regexes are linear (bounded or
  delimiter-excluding repeats); per-line and per-sentence Python loops run over that bounded prefix.
- Character classes come from one lookup table indexed by code point (numpy), not per-character Python.
  Where a count is defined by a regex (tokens, letter words, words without a letter, a space before a
  mark, ...), it is counted from those flags instead when the two are the same by construction, in one
  compiled pass over the characters (bielik.data.feature_counts, numba); the regexes stay here as the
  definitions, and the tests hold the two to each other.
- Part of speech comes from morfeusz2 without a tagger: every interpretation is kept, and each segment span
  (start, end) contributes 1/k to each of the k distinct POS classes of its interpretations (fractional
  counting). Morfeusz analyses each token (run of letters/digits) of the prefix on its own: its analysis
  does not depend on context, so each distinct token is analysed once and cached per process, and repeated
  words cost a lookup (in a table of code points: a known token is never cut out as a string). (On a novel
  the POS ratios agree with whole-text analysis to within 0.002.) A document's new tokens go to morfeusz in
  one call, and its answer is read as one numpy array.
- One morfeusz2 instance per process, created lazily, so the functions work in forked `datasets.map` workers.

Where the time goes (benchmarks/features.py, 2,000 novel excerpts of ~3,500 characters, one process, an empty
cache; profiled with line_profiler): the first version spent more than half in morfeusz2 through its Python
wrapper (one call and five strings per interpretation for every new token) and the rest in some 30 regex
passes, 40 str.count calls and Python loops over sentences, words and n-grams. Now about a third is morfeusz's
own C++ analysis of the new tokens, a tenth zlib (compression_ratio), and the rest is spread thinly: the
compiled passes, the token cache's lookups, a few regexes, line and paragraph splitting, and the Python
that assembles the 167 values. With a warm cache (a long run) morfeusz all but drops out.
"""
from __future__ import annotations

import ctypes
import itertools
import math
import os
import re
import unicodedata
import zlib

import numpy as np

from bielik.data import feature_counts
from bielik.data.feature_counts import (
    ALNUM, COMMA_SEMI, CONTROL, DIGIT, DIGITLIKE, EMOJI, EYE, LETTER, LOWER, LOWER_CHANGES, MARK6, MDSPECIAL,
    MOJI_LEAD, MOUTH, NONALPHA_ALNUM, NONLATIN, NOSE, POLISH, PUNCT, SPACE, SPACE_TAB, UPPER, VOWEL, WORDLET)

MAX_CHARS = 100_000  # the analysed prefix of every document
MAX_NGRAM_TOKENS = 10_000  # repeated n-grams: the first tokens only
MAX_TOKEN_LEN = 60  # longer tokens are not sent to morfeusz and count as unknown (they are never words)
MAX_CACHE = 400_000  # morfeusz results cached per process; the cache is emptied when it grows past this
COMPRESS_BYTES = 20_000  # compression_ratio looks at this many UTF-8 bytes

# What the definitions mean by these words.
TERMS = {
    "word": "a whitespace-separated string",
    "token": "a maximal run of letters and digits (regex [^\\W_]+)",
    "letter word": "a maximal run of letters (regex [^\\W\\d_]+)",
    "sentence": "a stretch ending at . ! ? … (plus closing quotes) before a space, or at a newline; needs a letter",
    "line": "text between newlines; blank if empty or whitespace only",
    "paragraph": "a block of non-blank lines between blank lines",
    "word segment": "a morfeusz2 segment span of a token that is not punctuation (interp)",
}

# The report's spellings of its top-25 SHAP feature names that differ from ours.
REPORT_NAMES = {"commas_per_sentenced": "commas_per_sentence"}
# The 25 names the report shows as its top features by SHAP (report spelling).
REPORT_TOP25 = (
    "oovs", "non_alpha_word_fractions", "stop_word_ratio", "average_lines", "colons_per_sentence",
    "short_line_ratio_20", "special_chars_ratio_md", "commas_per_sentenced", "lowercase_ratio_md",
    "overall_uppercase_ratio", "avg_paragraph_length", "avg_word_length", "noun_ratio", "char_ratio__",
    "adj_ratio", "uppercase_ratio_md", "ratio_of_bulletpoints", "char_ratio_>", "punct_frequency",
    "duplicate_line_ratio", "blank_lines", "emoticons", "single_char_ratio", "entropy", "blank_lines_ratio",
)

# ---------------------------------------------------------------------------------------------------------
# Feature names and definitions, by family.

_PUNCT_MARKS = [  # (name, characters counted) for the per-sentence punctuation features
    ("periods", "."), ("commas", ","), ("semicolons", ";"), ("colons", ":"), ("exclamations", "!"),
    ("questions", "?"), ("hyphens", "-"), ("en_dashes", "–"), ("em_dashes", "—"), ("open_parens", "("),
    ("close_parens", ")"), ("straight_quotes", '"'), ("low_quotes", "„"), ("closing_quotes", "”"),
    ("apostrophes", "'"), ("ellipsis_chars", "…"), ("guillemets", "«»"),
]
_RATIO_CHARS = "_>#*`|<=~\\/@%{"  # char_ratio_<c>: symbols that mark markup, code or web boilerplate
_MAX_WORD_LEN_BIN = 13

FAMILIES: dict[str, dict[str, str]] = {
    "size": {
        "n_chars_log": "log(1 + characters of the whole text); the only feature not limited to the prefix",
        "n_words_log": "log(1 + words)",
        "n_sentences_log": "log(1 + sentences)",
        "n_lines_log": "log(1 + lines)",
        "n_paragraphs_log": "log(1 + paragraphs)",
    },
    "sentences": {
        "avg_sentence_length": "Mean words per sentence",
        "std_sentence_length": "Standard deviation of words per sentence",
        "sentence_length_cv": "std_sentence_length / avg_sentence_length (coefficient of variation)",
        "short_sentence_ratio": "Fraction of sentences with fewer than 3 words",
        "long_sentence_ratio": "Fraction of sentences with more than 40 words",
        "lowercase_sentence_ratio": "Fraction of sentences with no uppercase letter",
        "no_upper_start_sentence_ratio": "Fraction of sentences whose first letter is not uppercase",
    },
    "paragraphs": {
        "avg_paragraph_length": "Mean words per paragraph",
        "lines_per_paragraph": "Non-blank lines / paragraphs",
        "duplicate_paragraph_ratio": "Fraction of paragraphs identical (stripped) to an earlier paragraph",
    },
    "lines": {
        "average_lines": "Mean length in characters of non-blank lines",
        "line_length_cv": "Standard deviation / mean of the lengths of non-blank lines",
        "max_line_length_log": "log(1 + characters of the longest line)",
        "blank_lines": "Number of blank lines",
        "blank_lines_ratio": "Blank lines / lines",
        "short_line_ratio_20": "Fraction of non-blank lines shorter than 20 characters",
        "duplicate_line_ratio": "Fraction of non-blank lines identical (stripped) to an earlier line",
        "line_end_punct_ratio": "Fraction of non-blank lines ending in . ! ? or … (closing quotes/brackets skipped)",
        "line_start_upper_ratio": "Fraction of non-blank lines whose first non-space character is an uppercase letter",
        "line_end_ellipsis_ratio": "Fraction of non-blank lines ending in '...' or '…' (truncated teasers)",
    },
    "characters": {
        "entropy": "Shannon entropy (bits) of the distribution of characters",
        "letter_ratio": "Letters / characters",
        "overall_uppercase_ratio": "Uppercase letters / characters",
        "digit_ratio": "Decimal digits / characters",
        "whitespace_ratio": "Whitespace characters (newlines included) / characters",
        "punct_frequency": "Punctuation characters (Unicode category P*) / characters",
        "polish_diacritics_ratio": "Letters ą ć ę ł ń ó ś ź ż (either case) / letters",
        "non_latin_letter_ratio": "Letters outside the Latin script blocks / letters",
        "replacement_char_ratio": "U+FFFD replacement characters / characters",
        "control_char_ratio": "Control (Cc but tab, LF, CR) and format (Cf, e.g. zero-width) characters / characters",
        "mojibake_ratio": "Mojibake pairs (UTF-8 decoded as Latin-1/cp1252/cp1250, e.g. 'Å¼' for 'ż') / characters",
        "multiple_space_ratio": "Runs of 2+ spaces or tabs / words",
        "special_chars_ratio_md": "Markdown special characters # * _ ` > | [ ] ( ) ~ - / characters",
        "lowercase_ratio_md": "Lowercase letters / characters of the text with Markdown markup removed",
        "uppercase_ratio_md": "Uppercase letters / characters of the text with Markdown markup removed",
    },
    "symbols": {f"char_ratio_{c}": f"Fraction of characters that are '{c}'" for c in _RATIO_CHARS},
    "punctuation": {
        **{f"{name}_per_sentence": f"Count of {' and '.join(repr(c) for c in chars)} / sentences"
           for name, chars in _PUNCT_MARKS},
        "ellipsis_sentence_ratio": "Fraction of sentences ending in '...' or '…'",
        "space_before_punct_ratio": "Marks , . ; : ! ? preceded by a space or tab / all such marks",
        "comma_no_space_ratio": "Commas and semicolons directly followed by a letter / commas and semicolons",
        "repeated_punct_runs": "Runs of one non-alphanumeric, non-space character repeated 4+ times ('!!!!', '----')",
    },
    "words": {
        "avg_word_length": "Mean length in characters of letter words",
        "word_length_std": "Standard deviation of the length of letter words",
        "longest_word_log": "log(1 + length of the longest letter word)",
        **{f"word_len_{k}": f"Fraction of letter words with exactly {k} letter{'s' if k > 1 else ''}"
           for k in range(1, _MAX_WORD_LEN_BIN)},
        f"word_len_{_MAX_WORD_LEN_BIN}plus": f"Fraction of letter words with {_MAX_WORD_LEN_BIN} or more letters",
        "non_alpha_word_fractions": "Fraction of words containing no letter",
        "single_char_ratio": "Fraction of words that are a single character",
        "all_caps_word_ratio": "Fraction of letter words that have 2+ letters, all uppercase",
        "capitalized_word_ratio": "Fraction of letter words with an uppercase first letter and lowercase rest",
        "camel_case_word_ratio": "Fraction of letter words mixing case otherwise (camelCase, iPhone, McDonald)",
        "mixed_alnum_token_ratio": "Fraction of tokens mixing letters and digits (e.g. 'abc123')",
        "type_token_ratio": "Mean distinct/total lowercased tokens over consecutive 100-token windows (all if fewer)",
        "hapax_ratio": "Lowercased tokens occurring once / distinct tokens, in the first 1,000 tokens",
        "top_word_ratio": "Occurrences of the most frequent lowercased token / tokens",
        "stop_word_ratio": "Fraction of lowercased tokens in the module's Polish stop-word list (STOP_WORDS)",
        "repeated_letter_runs": "Runs of one letter repeated 4+ times (e.g. 'aaaa')",
        "syllables_per_word": "Vowel groups (a e i o u y ą ę ó) per letter word, an approximate syllable count",
        "lix": "LIX readability: letter words / sentences + 100 * letter words longer than 6 / letter words",
        "rix": "RIX readability: letter words longer than 6 letters / sentences",
    },
    "repetition": {
        "dup_3gram_ratio": "Fraction of lowercased token 3-grams repeating an earlier one (first 10,000 tokens)",
        "dup_5gram_ratio": "Fraction of lowercased token 5-grams repeating an earlier one (first 10,000 tokens)",
        "consecutive_duplicate_word_ratio":
            "Fraction of tokens equal (lowercased) to the one before (first 10,000 tokens)",
        "compression_ratio": "zlib-compressed size / raw size of the first 20,000 UTF-8 bytes",
    },
    "web": {
        "url_count": "Number of URLs (starting http://, https:// or www.)",
        "url_char_ratio": "Characters inside URLs / characters",
        "email_count": "Number of e-mail addresses",
        "emoji_count": "Number of emoji characters (U+2600-27BF, U+2B50-2B55, U+1F000-1FAFF)",
        "emoticons": "Number of ASCII emoticons such as :) :-( ;) :D :P xD <3 ^^",
        "html_tags": "Number of HTML tags such as <div> or </p>",
        "html_entities": "Number of HTML entities such as &amp; or &#8211;",
        "boilerplate_line_ratio": "Fraction of non-blank lines with a boilerplate keyword (cookie, ©, regulamin, ...)",
    },
    "markdown": {
        "md_headings": "Number of ATX heading lines ('#' to '######' and a space)",
        "md_heading_ratio": "md_headings / non-blank lines",
        "md_bullet_items": "Number of lines starting with a bullet - * + or • and a space",
        "ratio_of_bulletpoints": "md_bullet_items / non-blank lines",
        "md_ordered_items": "Number of lines starting with a number, '.' or ')' and a space (e.g. '1. ')",
        "md_ordered_item_ratio": "md_ordered_items / non-blank lines",
        "md_links": "Number of Markdown links [text](url), images excluded",
        "md_link_ratio": "md_links / non-blank lines",
        "md_images": "Number of Markdown images ![alt](url)",
        "md_inline_code": "Number of inline code spans `code`",
        "md_code_blocks": "Number of fenced code blocks (``` or ~~~; an unclosed fence counts)",
        "md_code_line_ratio": "Fraction of lines inside fenced code blocks, fences included",
        "md_blockquotes": "Number of blockquote lines (starting with '>')",
        "md_blockquote_ratio": "md_blockquotes / non-blank lines",
        "md_horizontal_rules": "Number of horizontal rule lines (3+ of the same - * or _, spaces allowed)",
        "md_table_rows": "Number of lines containing at least two '|'",
        "md_table_row_ratio": "md_table_rows / non-blank lines",
        "md_tables": "Number of tables: a separator row like |---|:--:| right under a line containing '|'",
        "md_table_alignment": "Fraction of tables whose separator and body rows all have the header's cell count",
        "md_emphasis": "Number of emphasis spans **x**, __x__, *x*, _x_ within a line",
    },
    "morphology": {
        "oovs": "Fraction of word segments morfeusz2 analyses only as unknown (tag ign)",
        "noun_ratio": "Nouns (subst, depr) / word segments, fractional over ambiguous interpretations",
        "gerund_ratio": "Gerunds (ger) / word segments, fractional",
        "verb_ratio":
            "Verb forms (fin bedzie praet impt inf pcon pant imps winien pred aglt) / word segments, fractional",
        "adj_ratio": "Adjectives (adj adja adjp adjc) / word segments, fractional",
        "participle_ratio": "Participles (pact, ppas) / word segments, fractional",
        "adv_ratio": "Adverbs (adv) / word segments, fractional",
        "num_ratio": "Numerals (num numcol dig romandig) / word segments, fractional",
        "pron_ratio": "Pronouns (ppron12 ppron3 siebie) / word segments, fractional",
        "prep_ratio": "Prepositions (prep) / word segments, fractional",
        "conj_ratio": "Conjunctions (conj, comp) / word segments, fractional",
        "particle_ratio": "Particles (qub, part) / word segments, fractional",
        "interj_ratio": "Interjections (interj) / word segments, fractional",
        "brev_ratio": "Abbreviations (brev) / word segments, fractional",
        "other_pos_ratio": "Other tags (frag, sym, ...) / word segments, fractional; with oovs the classes sum to 1",
        "lexical_density": "Content words: noun + gerund + verb + adj + participle + adv ratios",
        "verb_noun_ratio": "verb_ratio / noun_ratio",
        "adj_noun_ratio": "adj_ratio / noun_ratio",
        "oov_digit_ratio": "Fraction of unknown (ign) word segments whose token contains a digit",
        "oov_capitalized_ratio": "Fraction of unknown (ign) word segments whose token starts with an uppercase letter",
    },
    "grammar": {
        "g_past_ratio": "Fraction of word segments with a past-tense interpretation (praet)",
        "g_nonpast_ratio": "Fraction of word segments with a non-past finite interpretation (fin)",
        "g_future_ratio": "Fraction of word segments with a future 'być' interpretation (bedzie)",
        "g_imperative_ratio": "Fraction of word segments with an imperative interpretation (impt)",
        "g_infinitive_ratio": "Fraction of word segments with an infinitive interpretation (inf)",
        "g_impersonal_ratio": "Fraction of word segments with an impersonal '-no/-to' interpretation (imps)",
        "g_first_person_ratio": "Fraction of word segments with a 1st-person interpretation (pri)",
        "g_second_person_ratio": "Fraction of word segments with a 2nd-person interpretation (sec)",
        "g_plural_ratio": "Fraction of word segments with a plural interpretation (pl)",
        "g_negation_ratio": "Fraction of lowercased tokens that are 'nie'",
    },
}
FEATURES: dict[str, str] = {name: d for fam in FAMILIES.values() for name, d in fam.items()}
FAMILY: dict[str, str] = {name: fam for fam, names in FAMILIES.items() for name in names}

# Common Polish function words (prepositions, conjunctions, particles, pronouns, forms of 'być').
STOP_WORDS = frozenset("""
a aby ach acz aczkolwiek aj albo ale ależ ani aż bardziej bardzo bez bo bowiem by byli bym byś być był była
było były będzie będą będę ci cię ciebie co cokolwiek coś czy czyli dla dlaczego dlatego do dokąd dość dużo
gdy gdyby gdyż gdzie gdzieś go i ich ile im inna inne inny iż ja ją jak jakaś jakby jaki jakie jakiś jako jakoś
je jeden jedna jedno jego jej jemu jeszcze jest jestem jesteś jeśli jeżeli już każdy kiedy kiedyś kilka kto ktoś
która które którego której który których którym którzy ku lub ma mają mam mi mną mnie moi mój moja moje może
mu my na nad nam nami nas nasz nasza nasze natomiast nawet nic nich nie niech niego niej niemu nigdy nim nimi
niż no o obok od około on ona one oni ono oraz owszem po pod ponad ponieważ potem przed przede przez przy
raz razem sam sama są się skąd sobie sobą swoje swój swego swoją ta tak taka taki takie także tam te tego tej
ten teraz też to tobą tobie tu tutaj twoi twój ty tych tylko tym u w we więc wszyscy wszystkie wszystko wtedy
wy z za zaś zawsze ze znowu znów że żeby
""".split())

# ---------------------------------------------------------------------------------------------------------
# Compiled patterns. Every repeat is either bounded or excludes its own delimiter, so matching is linear.
# _TOKEN, _LETTER_WORD, _LETTER, _NO_LETTER_WORD, _SPACE_BEFORE_PUNCT, _COMMA_NO_SPACE and _MULTI_SPACE are
# definitions: extract() counts their matches from character flags (tests/test_features.py holds the two equal).

_TOKEN = re.compile(r"[^\W_]+")
_LETTER_WORD = re.compile(r"[^\W\d_]+")
_LETTER = re.compile(r"[^\W\d_]")
_NO_LETTER_WORD = re.compile(r"(?<!\S)(?:[\d_]|[^\w\s])+(?!\S)")  # whitespace-separated words without a letter
# These start with a character class (re scans for it quickly), then a lookbehind makes a match start only at
# the first mark of a run, so a long run of dots stays linear.
_SENT_SPLIT = re.compile(r"[.!?…\n](?<![.!?…][.!?…])(?:(?<=\n)|[.!?…]*+[\"'”»)\]]*+(?=\s|$))")
_ELLIPSIS_END = re.compile(r"[.…](?<![.…][.…])(?:(?<=…)|\.\.)[.…]*+[\"'”»)\]]*+(?=\s|$)")
_PARA_SPLIT = re.compile(r"\n(?:[ \t\f\v]*\n)+")
_SPACE_BEFORE_PUNCT = re.compile(r"[ \t][,.;:!?]")
_COMMA_NO_SPACE = re.compile(r"[,;](?=[^\W\d_])")
_CHAR_RUN = re.compile(r"(\S)\1{3,}")  # then split into letter runs and punctuation runs
_MULTI_SPACE = re.compile(r"[ \t]{2,}")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()\[\]{}]{1,2000}", re.I)
_EMAIL = re.compile(r"[\w.+-]{1,64}@[^\W_](?:[\w-]{0,62}\.)+[^\W\d_]{2,24}")
# No '*' or '|' mouths: '**Uwaga:**' and table rows '|:--:|' would count.
_EMOTICON = re.compile(r"[:;=][-'^]?[)(DPpOo\]\[]{1,3}(?!\w)")  # :) :-( ;) :D :P :]
_EMOTICON_2 = re.compile(r"[xX<^](?:(?<!\w[xX])(?<=[xX])D+(?!\w)|(?<=<)3(?!\d)|(?<=\^)_*\^)")  # xD <3 ^^ ^_^
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]{0,15}(?:[\s/][^<>\n]{0,300})?>")
_HTML_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,9}|#\d{1,7}|#[xX][0-9A-Fa-f]{1,6});")
_BOILERPLATE_WORDS = ("cookie", "ciasteczk", "javascript", "©", "copyright", "wszelkie prawa zastrzeżone",
                      "prywatności", "regulamin", "zaloguj", "newsletter", "czytaj dalej", "czytaj więcej",
                      "udostępnij")
_MD_HEADING = re.compile(r"(?m)^[ \t]{0,3}#{1,6}[ \t]+\S")
_MD_BULLET = re.compile(r"(?m)^[ \t]*[-*+•][ \t]+\S")
_MD_ORDERED = re.compile(r"(?m)^[ \t]*\d{1,9}[.)][ \t]+\S")
_MD_QUOTE = re.compile(r"(?m)^[ \t]{0,3}>")
_MD_HR = re.compile(r"(?m)^[ \t]{0,3}([-*_])(?:[ \t]*+\1){2,}+[ \t]*$")
_MD_FENCE = re.compile(r"(?m)^[ \t]{0,3}(?:```|~~~)")
_MD_LINK = re.compile(r"(!?)\[([^\[\]\n]{0,300})\]\([^()\s]{0,1000}\)")
_MD_INLINE_CODE = re.compile(r"(?<!`)`[^`\n]{1,300}`(?!`)")
_MD_TABLE_ROW = re.compile(r"(?m)^[^|\n]*\|[^|\n]*\|")
_MD_TABLE_SEP = re.compile(r"[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*")
_MD_EMPHASIS = re.compile(r"(?<![\w*])(\*\*|__|\*|_)(?=[^\s*_])[^*_\n]{1,200}(?<=[^\s*_])\1(?![\w*])")
# Markup removed before lowercase_ratio_md / uppercase_ratio_md.
_MD_LINE_MARK = re.compile(r"(?m)^[ \t]*(?:#{1,6}[ \t]+|>[> \t]*|(?:[-*+•]|\d{1,9}[.)])[ \t]+)")
_MD_FENCE_LINE = re.compile(r"(?m)^[ \t]{0,3}(?:```|~~~).*$")
_MD_TABLE_SEP_LINE = re.compile(r"(?m)^[ \t]*\|?[ \t]*:?-+:?[ \t]*\|[-:| \t]*$")


def _mojibake_chars() -> tuple[str, str]:
    """Two-character sequences that UTF-8 bytes become when decoded as Latin-1, cp1252 or cp1250:
    a lead byte 0xC2-0xC5 (U+0080-U+017F, Polish letters included) or 0xE2 (typographic quotes and dashes)
    followed by a continuation byte 0x80-0xBF. Returns (leads, continuations)."""
    leads, conts = set(), set()
    for codec in ("latin-1", "cp1252", "cp1250"):
        leads |= set(bytes([0xC2, 0xC3, 0xC4, 0xC5, 0xE2]).decode(codec, errors="ignore"))
        conts |= set(bytes(range(0x80, 0xC0)).decode(codec, errors="ignore"))
    return "".join(sorted(leads)), "".join(sorted(conts))


_MOJIBAKE_LEADS, _MOJIBAKE_CONTS = _mojibake_chars()
_MOJIBAKE = re.compile(f"[{re.escape(_MOJIBAKE_LEADS)}][{re.escape(_MOJIBAKE_CONTS)}]")

# ---------------------------------------------------------------------------------------------------------
# Character classes: one uint32 of flags per code point, looked up with numpy. The flags (LETTER, UPPER, ...)
# are defined in feature_counts, where the compiled loops read them.

_TABLE_SIZE = 0x20000  # planes 0-1; higher code points (CJK extensions, private use) share the last slot
_LATIN_RANGES = ((0x0041, 0x024F), (0x0250, 0x02FF), (0x1E00, 0x1EFF), (0x2C60, 0x2C7F), (0xA720, 0xA7FF),
                 (0xAB30, 0xAB6F), (0xFB00, 0xFB06), (0xFF21, 0xFF5A))
_EMOJI_RANGES = ((0x2600, 0x27BF), (0x2B50, 0x2B55), (0x1F000, 0x1FAFF))
_TABLE: np.ndarray | None = None
_LOWER: np.ndarray | None = None
_STOP: feature_counts.StringTable | None = None
_ALL_FLAGS = [1 << i for i in range(feature_counts.N_FLAGS)]


def _exact_flags(chars) -> list[int]:
    """The flags that must be exact for every code point (they stand in for regex classes)."""
    out = []
    for ch in chars:
        alnum = ch.isalnum()
        out.append(ALNUM * alnum | WORDLET * (alnum and not ch.isdecimal()) | DIGITLIKE * ch.isdigit() |
                   NONALPHA_ALNUM * (alnum and not ch.isalpha()) | LOWER_CHANGES * (ch.lower() != ch))
    return out


def _char_table() -> np.ndarray:
    global _TABLE
    if _TABLE is None:
        chars = "".join(map(chr, range(_TABLE_SIZE)))
        t = np.zeros(_TABLE_SIZE + 1, dtype=np.uint32)

        def mark(flag, values):
            t[:_TABLE_SIZE] |= np.fromiter(values, dtype=bool, count=_TABLE_SIZE).astype(np.uint32) * flag

        mark(LETTER, map(str.isalpha, chars))
        mark(UPPER, map(str.isupper, chars))
        mark(LOWER, map(str.islower, chars))
        mark(DIGIT, map(str.isdecimal, chars))
        mark(SPACE, map(str.isspace, chars))
        cats = list(map(unicodedata.category, chars))
        mark(PUNCT, (c[0] == "P" for c in cats))
        mark(CONTROL, (c in ("Cc", "Cf") for c in cats))
        for c in "\t\n\r":
            t[ord(c)] &= ~np.uint32(CONTROL)
        for c in "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ":
            t[ord(c)] |= POLISH
        latin = np.zeros(_TABLE_SIZE + 1, dtype=bool)
        for lo, hi in _LATIN_RANGES:
            latin[lo:hi + 1] = True
        t[((t & LETTER) > 0) & ~latin] |= NONLATIN
        for lo, hi in _EMOJI_RANGES:
            t[lo:hi + 1] |= EMOJI
        for c in "#*_`>|[]()~-":
            t[ord(c)] |= MDSPECIAL
        for c in "aeiouyąęóAEIOUYĄĘÓ":
            t[ord(c)] |= VOWEL
        alnum = np.fromiter(map(str.isalnum, chars), dtype=bool, count=_TABLE_SIZE)
        t[:_TABLE_SIZE][alnum] |= np.array(_exact_flags(chars[i] for i in np.flatnonzero(alnum)), dtype=np.uint32)
        t[:_TABLE_SIZE][np.fromiter((c.lower() != c for c in chars), dtype=bool, count=_TABLE_SIZE)] |= LOWER_CHANGES
        for flag, members in ((SPACE_TAB, " \t"), (MARK6, ",.;:!?"), (COMMA_SEMI, ",;"), (EYE, ":;="),
                              (NOSE, "-'^"), (MOUTH, ")(DPpOo][")):
            for c in members:
                t[ord(c)] |= flag
        for c in _MOJIBAKE_LEADS:
            t[ord(c)] |= MOJI_LEAD
        t[_TABLE_SIZE] = LETTER | NONLATIN
        _TABLE = t
    return _TABLE


def _lower_table() -> np.ndarray:
    """Each code point's lowercase (str.lower) where that is one character, else itself; above the table no
    character has a lowercase (tests/test_features.py checks both)."""
    global _LOWER
    if _LOWER is None:
        lows = ((c, c.lower()) for c in map(chr, range(_TABLE_SIZE)))
        _LOWER = np.fromiter((ord(low if len(low) == 1 else c) for c, low in lows), dtype=np.uint32,
                             count=_TABLE_SIZE)  # 'İ' is kept: _lowercased asks Python where it occurs
    return _LOWER


def _stop_words() -> feature_counts.StringTable:
    """STOP_WORDS as a table of their code points: 'nie' -> 2, the others -> 1."""
    global _STOP
    if _STOP is None:
        words = sorted(STOP_WORDS)
        cps = _code_points("".join(words))
        ends = np.cumsum([len(w) for w in words])
        _STOP = feature_counts.StringTable(len(words))
        _STOP.add(cps, ends - [len(w) for w in words], ends, np.array([2 if w == "nie" else 1 for w in words]))
    return _STOP


def _code_points(s: str) -> np.ndarray:
    # surrogatepass: lone surrogates (from errors="surrogateescape" decoding) must not crash
    return np.frombuffer(s.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _flags(cps: np.ndarray) -> np.ndarray:
    table = _char_table()
    if not len(cps) or cps.max() < _TABLE_SIZE:
        return table[cps]
    # Planes 2-16 share the last slot for the original flags, but the regex stand-ins must be exact.
    f = table[np.minimum(cps, _TABLE_SIZE)]
    high = cps >= _TABLE_SIZE
    f[high] |= np.array(_exact_flags(map(chr, cps[high].tolist())), dtype=np.uint32)
    return f


# ---------------------------------------------------------------------------------------------------------
# Morphology: morfeusz2 per process, and a per-token cache of fractional POS counts.

_POS_CLASSES = ("noun", "gerund", "verb", "adj", "participle", "adv", "num", "pron", "prep", "conj",
                "particle", "interj", "brev", "other", "oov")
_TAG_CLASS = {
    **dict.fromkeys(("subst", "depr"), "noun"), "ger": "gerund",
    **dict.fromkeys(("fin", "bedzie", "praet", "impt", "inf", "pcon", "pant", "imps", "winien", "pred", "aglt"),
                    "verb"),
    **dict.fromkeys(("adj", "adja", "adjp", "adjc"), "adj"), **dict.fromkeys(("pact", "ppas"), "participle"),
    "adv": "adv", **dict.fromkeys(("num", "numcol", "dig", "romandig"), "num"),
    **dict.fromkeys(("ppron12", "ppron3", "siebie"), "pron"), "prep": "prep",
    **dict.fromkeys(("conj", "comp"), "conj"), **dict.fromkeys(("qub", "part"), "particle"),
    "interj": "interj", "brev": "brev", "ign": "oov",
}
_GRAMMAR = (("g_past_ratio", "praet"), ("g_nonpast_ratio", "fin"), ("g_future_ratio", "bedzie"),
            ("g_imperative_ratio", "impt"), ("g_infinitive_ratio", "inf"), ("g_impersonal_ratio", "imps"),
            ("g_first_person_ratio", "pri"), ("g_second_person_ratio", "sec"), ("g_plural_ratio", "pl"))
# Layout of a token's cached row: segments, one column per POS class, grammar flags, oov-with-digit, oov-capitalised.
_COL = {"segments": 0, **{c: 1 + i for i, c in enumerate(_POS_CLASSES)}}
_COL.update({name: len(_COL) + i for i, (name, _) in enumerate(_GRAMMAR)})
_COL.update(oov_digit=len(_COL), oov_cap=len(_COL) + 1)
_N_COLS = len(_COL)

# (pid, wrapper, its SWIG instance, tag id of 'sp', id resolver, whether _raw_table works): one per process
_MORFEUSZ: tuple | None = None
_CACHE = feature_counts.StringTable()  # token -> id of its row
_ROW_IDS: dict[bytes, int] = {}  # distinct rows (far fewer than tokens: most tokens share one) -> id
_MATRIX = np.zeros((1024, _N_COLS))  # row k is the row with id k; doubled when full
_TAGS: dict[int, tuple[str, frozenset]] = {}  # morfeusz tag id -> (POS, the tag's ':'-separated fields)
_TAG_CLASSES: np.ndarray | None = None  # morfeusz tag id -> POS class, -2 until looked up (_tag_arrays)
_TAG_GRAMMAR: np.ndarray | None = None  # morfeusz tag id -> grammar fields as bits


def _morfeusz() -> tuple:
    global _MORFEUSZ
    if _MORFEUSZ is None or _MORFEUSZ[0] != os.getpid():
        import morfeusz2

        # KEEP_WHITESPACES: the space between two tokens analysed in one call comes back as a segment of its own
        # (tag 'sp') and tells where one token's segments end. The SWIG object under the wrapper is used directly:
        # the wrapper builds five strings per segment, of which only the tag is needed, and it is looked up by id.
        wrapper = morfeusz2.Morfeusz(generate=False, whitespace=morfeusz2.KEEP_WHITESPACES)
        m = wrapper._morfeusz_obj
        resolver = m.getIdResolver()
        _MORFEUSZ = (os.getpid(), wrapper, m, resolver.getTagId("sp"), resolver, _raw_layout_ok(m))
    return _MORFEUSZ


# Morfeusz returns its interpretations in a C++ std::vector<MorphInterpretation> (SWIG's InterpsList). Reading
# (startNode, endNode, tagId) of each through SWIG costs a Python object and three calls per interpretation,
# more than the analysis itself; the vector's memory holds them at fixed offsets, so numpy reads them all at
# once. The layout (88-byte records, the three int32 fields at bytes 0, 4 and 72, as libstdc++ lays them out)
# is checked against SWIG's accessors when morfeusz is loaded, and each read checks the vector's size;
# otherwise the fields are read through SWIG.
_RECORD_BYTES, _RECORD_FIELDS = 88, [0, 1, 18]  # record size; int32 indices of startNode, endNode, tagId


def _raw_table(interps) -> np.ndarray | None:
    """(start node, end node, tag id) rows read from the vector's memory, or None if its size is not n records."""
    n = len(interps)
    addr = int(interps.this)  # the std::vector: pointers to its first record and past its last
    begin = ctypes.c_void_p.from_address(addr).value
    end = ctypes.c_void_p.from_address(addr + ctypes.sizeof(ctypes.c_void_p)).value
    if not n or not begin or end - begin != n * _RECORD_BYTES:
        return None
    records = np.frombuffer(ctypes.string_at(begin, end - begin), dtype=np.int32)
    return records.reshape(n, _RECORD_BYTES // 4)[:, _RECORD_FIELDS].astype(np.int64)


def _swig_table(interps) -> np.ndarray:
    rows = [(i.startNode, i.endNode, i.tagId) for i in interps]
    return np.array(rows, dtype=np.int64).reshape(len(rows), 3)


def _raw_layout_ok(m) -> bool:
    interps = m.analyse("Ala ma kota, zrobiłbym to 123 razy, miałem xyzzy.")
    try:
        raw = _raw_table(interps)
    except Exception:  # noqa: BLE001 - any failure means: read through SWIG
        return False
    return raw is not None and np.array_equal(raw, _swig_table(interps))


def _interp_table(text: str) -> np.ndarray:
    """morfeusz's analysis of `text` as (start node, end node, tag id) rows, in its order."""
    _, _, m, _, _, raw_ok = _morfeusz()
    interps = m.analyse(text)
    table = _raw_table(interps) if raw_ok else None
    return _swig_table(interps) if table is None else table


def _tag(tag_id: int) -> tuple[str, frozenset]:
    info = _TAGS.get(tag_id)
    if info is None:
        parts = _morfeusz()[4].getTag(tag_id).split(":")
        info = _TAGS[tag_id] = (parts[0], frozenset(parts))
    return info


def _tag_arrays(tag_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each tag's POS class (its index in _POS_CLASSES; -1 for punctuation, interp) and its grammar fields as
    bits (bit b: the field of _GRAMMAR[b]), as arrays over tag ids; the tags in `tag_ids` are looked up now."""
    global _TAG_CLASSES, _TAG_GRAMMAR
    if _TAG_CLASSES is None:
        size = _morfeusz()[4].getTagsCount()
        _TAG_CLASSES, _TAG_GRAMMAR = np.full(size, -2, dtype=np.int64), np.zeros(size, dtype=np.int64)
    unknown = _TAG_CLASSES[tag_ids] == -2
    for t in np.unique(tag_ids[unknown]).tolist() if unknown.any() else ():
        pos, fields = _tag(t)
        _TAG_CLASSES[t] = -1 if pos == "interp" else _POS_CLASSES.index(_TAG_CLASS.get(pos, "other"))
        _TAG_GRAMMAR[t] = sum(1 << b for b, (_, field) in enumerate(_GRAMMAR) if field in fields)
    return _TAG_CLASSES, _TAG_GRAMMAR


def _token_rows(text: str, split: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(rows, unknown-only spans) of every space-separated token of `text`, from one morfeusz call: with
    KEEP_WHITESPACES each space comes back as a segment of its own (tag 'sp'), which ends the token before it.
    With split=False the whole text is one token and whitespace segments are left out. A row is a token's word
    segments and their fractional POS and grammar counts (feature_counts.token_rows), the unknown-segment
    columns left 0."""
    table = _interp_table(text)
    sp = _morfeusz()[3]
    n_tokens = int(np.count_nonzero(table[:, 2] == sp)) + 1 if split else 1
    classes, grammar = _tag_arrays(table[:, 2])
    return feature_counts.token_rows(table, sp, split, n_tokens, classes, grammar, len(_POS_CLASSES), _N_COLS)


def _analyse_tokens(tokens: list[str]) -> list[int]:
    """The row ids of tokens not seen before (the caller caches them). The tokens go to morfeusz in one call, joined by
    spaces: a token's analysis does not depend on its neighbours, and one call per token costs more (morfeusz
    has a fixed cost per call, and the wrapper builds five strings per interpretation where one tag id is
    needed). Tokens longer than MAX_TOKEN_LEN are never words: unknown without asking morfeusz. The
    unknown-segment columns add each unknown token's own digit and capital flags."""
    short = tokens if max(map(len, tokens)) <= MAX_TOKEN_LEN else [t for t in tokens if len(t) <= MAX_TOKEN_LEN]
    rows, n_oov = _token_rows(" ".join(short)) if short else (np.zeros((0, _N_COLS)), np.zeros(0, dtype=np.int64))
    if len(rows) != len(short):  # a character morfeusz takes for a space: fall back to one call per token
        each = [_token_rows(tok, split=False) for tok in short]
        rows, n_oov = np.concatenate([r for r, _ in each]), np.concatenate([o for _, o in each])
    if short is not tokens:  # a long token: one unknown segment
        is_short = np.fromiter((len(t) <= MAX_TOKEN_LEN for t in tokens), dtype=bool, count=len(tokens))
        all_rows, all_oov = np.zeros((len(tokens), _N_COLS)), np.ones(len(tokens), dtype=np.int64)
        all_rows[:, [_COL["segments"], _COL["oov"]]] = 1
        all_rows[is_short], all_oov[is_short] = rows, n_oov
        rows, n_oov = all_rows, all_oov
    for k in np.flatnonzero(n_oov).tolist():
        tok = tokens[k]
        rows[k, _COL["oov_digit"]] += n_oov[k] * (not tok.isalpha() and any(ch.isdigit() for ch in tok))
        rows[k, _COL["oov_cap"]] += n_oov[k] * tok[0].isupper()
    raw, width = rows.tobytes(), rows.shape[1] * rows.itemsize
    keys = [raw[i:i + width] for i in range(0, len(raw), width)]  # a row's bytes are its key
    ids = list(map(_ROW_IDS.get, keys))
    for k in [k for k, i in enumerate(ids) if i is None]:
        ids[k] = _row_id(keys[k], rows[k])
    return ids


def _row_id(key: bytes, row: np.ndarray) -> int:
    """The id of a row (its bytes are the key), added to the matrix if new."""
    global _MATRIX
    i = _ROW_IDS.get(key)
    if i is None:
        i = _ROW_IDS[key] = len(_ROW_IDS)
        if i == len(_MATRIX):
            _MATRIX = np.concatenate([_MATRIX, np.zeros_like(_MATRIX)])
        _MATRIX[i] = row
    return i


def clear_cache() -> None:
    """Forget every analysed token (the benchmark uses it to time a cold cache)."""
    global _MATRIX, _CACHE
    _CACHE = feature_counts.StringTable()
    _ROW_IDS.clear()
    _MATRIX = np.zeros((1024, _N_COLS))


def _morphology(p: str, cps: np.ndarray, starts: np.ndarray, ends: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Column sums of the rows of the distinct tokens p[starts[k]:ends[k]], each weighted by its number of
    occurrences. Tokens are looked up in the cache where they lie in the code points; only new ones are cut
    out as strings, for morfeusz."""
    if not len(starts):
        return np.zeros(_N_COLS)
    if len(_CACHE) > MAX_CACHE:
        clear_cache()
    ids = _CACHE.find(cps, starts, ends)
    missing = np.flatnonzero(ids < 0)  # not analysed yet
    if len(missing):
        s, e = starts[missing], ends[missing]
        ids[missing] = _analyse_tokens(list(map(p.__getitem__, map(slice, s.tolist(), e.tolist()))))
        _CACHE.add(cps, s, e, ids[missing])
    return weights.astype(float) @ _MATRIX[ids]


# ---------------------------------------------------------------------------------------------------------
# Helpers.

def _div(a, b) -> float:
    return float(a) / b if b else 0.0


def _mean_std(values: np.ndarray) -> tuple[float, float]:
    """Mean and population standard deviation of integers, from exact integer sums (numpy's mean and std cost
    more on short arrays; the two agree to about 1e-15)."""
    n = len(values)
    if not n:
        return 0.0, 0.0
    return _mean_std_of_sums(n, int(values.sum()), int(values @ values))


def _mean_std_of_sums(n: int, s: int, ss: int) -> tuple[float, float]:
    """Mean and population standard deviation from the count, sum and sum of squares of integers."""
    if not n:
        return 0.0, 0.0
    return s / n, math.sqrt((n * ss - s * s) / (n * n))


def _count(pattern: re.Pattern, text: str, *needles: str) -> int:
    """Matches of `pattern`; skipped (0) when none of the needles, which every match contains, occurs."""
    if needles and not any(n in text for n in needles):
        return 0
    return len(pattern.findall(text))


def _can_start(firsts: set[str], marks: str, digit: bool = False) -> bool:
    """Whether a line-start pattern can match: some non-blank line starts (after its whitespace) with one of
    `marks`, or with a decimal digit when `digit`. Every such pattern allows only spaces and tabs before."""
    return not firsts.isdisjoint(marks) or (digit and any(map(str.isdecimal, firsts)))


def _strip_markdown(text: str, firsts: set[str] | None = None) -> str:
    """The text a reader sees: links and images become their text; line markers, fences, table separators,
    HTML tags, horizontal rules and the characters * _ ` | ~ are removed. `firsts`, the first characters of
    the text's stripped non-blank lines, lets line-start passes be skipped where no line can match."""
    if "](" in text:
        s = _MD_LINK.sub(r"\2", text)
        firsts = None  # a link's text may now start a line
    else:
        s = text
    if "```" in s or "~~~" in s:
        s = _MD_FENCE_LINE.sub("", s)
    if "|" in s:
        s = _MD_TABLE_SEP_LINE.sub("", s)
    if firsts is None or _can_start(firsts, "-*_"):
        s = _MD_HR.sub("", s)
    if firsts is None or _can_start(firsts, "#>-*+•", digit=True):
        s = _MD_LINE_MARK.sub("", s)
    if "<" in s:
        s = _HTML_TAG.sub("", s)
    for ch in "*_`|~":  # str.replace is much faster than str.translate here
        s = s.replace(ch, "")
    return s


def _cells(line: str) -> int:
    s = line.strip()
    s = s[1:] if s.startswith("|") else s
    s = s[:-1] if s.endswith("|") else s
    return s.count("|") + 1


def _tables(lines: list[str]) -> tuple[int, int]:
    """(tables, tables whose separator and body rows all have the header's number of cells)."""
    tables = aligned = 0
    piped = [i for i, line in enumerate(lines) if "|" in line]
    has_pipe = set(piped)
    for i in piped:
        if i == 0 or i - 1 not in has_pipe or not _MD_TABLE_SEP.fullmatch(lines[i]):
            continue
        tables += 1
        header = _cells(lines[i - 1])
        ok = _cells(lines[i]) == header
        j = i + 1
        while ok and j in has_pipe:
            ok = _cells(lines[j]) == header
            j += 1
        aligned += ok
    return tables, aligned


def _code_lines(lines: list[str]) -> int:
    """Lines inside fenced code blocks, fences included; an unclosed fence runs to the end."""
    fences = [i for i, line in enumerate(lines) if line.lstrip()[:3] in ("```", "~~~") and
              len(line) - len(line.lstrip()) <= 3]
    total = 0
    for k in range(0, len(fences), 2):
        end = fences[k + 1] if k + 1 < len(fences) else len(lines) - 1
        total += end - fences[k] + 1
    return total


def _ngram_repeats(ids: np.ndarray) -> tuple[float, float, float]:
    """dup_3gram_ratio, dup_5gram_ratio, consecutive_duplicate_word_ratio of a sequence of token ids: the same
    counts as sets of string tuples, without the tuples."""
    n = len(ids)
    dup3 = _div(n - 2 - feature_counts.distinct_ngrams(ids, 3), n - 2) if n >= 3 else 0.0
    dup5 = _div(n - 4 - feature_counts.distinct_ngrams(ids, 5), n - 4) if n >= 5 else 0.0
    consecutive = _div(np.count_nonzero(ids[1:] == ids[:-1]), n)
    return dup3, dup5, consecutive


def _windowed_ttr(ids: np.ndarray, size: int = 100) -> float:
    """Mean distinct/total over consecutive windows of `size` token ids (a shorter rest is left out)."""
    if len(ids) < size:
        return _div(feature_counts.distinct_ngrams(ids, 1), len(ids))
    return feature_counts.window_types(ids, size) / (size * (len(ids) // size))


# ---------------------------------------------------------------------------------------------------------
# The extractor.

# _SENT_SPLIT with the marks kept, so that the lengths of the parts give every sentence's position.
_SENT_PARTS = re.compile(f"({_SENT_SPLIT.pattern})")
_ORD = tuple(dict.fromkeys(_RATIO_CHARS + "".join(chars for _, chars in _PUNCT_MARKS) + ",.;:!?\ufffdxX<^İΣ"))
_WANTED = np.array(list(map(ord, _ORD)), dtype=np.int64)  # the code points whose counts extract() reads
_SCRATCH: np.ndarray | None = None


def _scratch() -> np.ndarray:
    """A zeroed count per code point for the compiled pass (it leaves it zeroed); 4.5 MB, made once per process."""
    global _SCRATCH
    if _SCRATCH is None:
        _SCRATCH = np.zeros(0x110000, dtype=np.int32)
    return _SCRATCH


def _lowercased(p: str, cps: np.ndarray, starts: np.ndarray, ends: np.ndarray, tok_ids: np.ndarray,
                firsts_at: np.ndarray, count) -> tuple[np.ndarray, int, int]:
    """The lowercased token at every position as an integer id (equal ids, equal lowercased tokens), and how
    many tokens are stop words and 'nie'. The tokens are lowercased a code point at a time (_lower_table),
    unless the text has 'İ' or 'Σ': str.lower makes two characters of the first and decides the second by its
    neighbours, so then Python lowercases the distinct tokens."""
    if count("İ") or count("Σ"):
        distinct = list(map(p.__getitem__, map(slice, starts[firsts_at].tolist(), ends[firsts_at].tolist())))
        lower_first: dict[str, int] = {}  # lowercased token -> its id, the rank of the first token lowercased to it
        tok_lower = " ".join(distinct).lower().split(" ") if len(distinct) else []  # one C call instead of a loop
        low_of = np.fromiter(map(lower_first.setdefault, tok_lower, itertools.count()), dtype=np.intp,
                             count=len(tok_lower))
        lower_ids = low_of[tok_ids]
        low_counts = np.bincount(lower_ids)
        n_stop = int(low_counts[list(map(lower_first.__getitem__, STOP_WORDS.intersection(lower_first)))].sum())
        return lower_ids, n_stop, int(low_counts[lower_first["nie"]]) if "nie" in lower_first else 0
    low = feature_counts.lowered(cps, _lower_table())
    lower_ids, low_firsts = feature_counts.token_ranks(low, starts, ends)
    kind = _stop_words().find(low, starts[low_firsts], ends[low_firsts])  # 2: 'nie', 1: another stop word
    low_counts = np.bincount(lower_ids, minlength=len(low_firsts))
    return lower_ids, int(low_counts[kind > 0].sum()), int(low_counts[kind == 2].sum())


def extract(text: str) -> dict[str, float]:
    """Every feature of FEATURES, in its order, as a finite float.

    Most counts come from one compiled pass over the characters' flags (feature_counts.document_counts)
    instead of a regex pass or a Python loop each; where a regex is still needed, a flag count or a cheap test
    first rules out the documents it cannot match. Every stand-in gives the same count as the pattern it
    replaces (tests/test_features.py compares all features with the values of the pattern-based extractor)."""
    n_chars_total = len(text)
    p = text[:MAX_CHARS]
    if not p.isascii():
        p = unicodedata.normalize("NFC", p)
    if "\r" in p:
        p = p.replace("\r\n", "\n").replace("\r", "\n")
    f: dict[str, float] = {}
    n = len(p)

    # Characters and sentences: one compiled pass over the characters' flags gives the counts. Sentences are
    # the parts between _SENT_SPLIT matches that contain a letter; the pass counts each one's words.
    cps = _code_points(p)
    flags = _flags(cps)
    parts = _SENT_PARTS.split(p)
    part_ends = np.cumsum(np.fromiter(map(len, parts), dtype=np.int64, count=len(parts)))
    (counts, flag_counts, wanted, entropy, bins, tok_starts, tok_ends, odd_starts,
     odd_ends) = feature_counts.document_counts(cps, flags, part_ends, _scratch(), _WANTED)
    k = dict(zip(feature_counts.COUNTS, counts.tolist()))
    c = dict(zip(_ALL_FLAGS, flag_counts.tolist()))
    count = dict(zip(_ORD, wanted.tolist())).__getitem__  # the text's count of a character of _ORD

    # Units: words, tokens, letter words, lines, sentences, paragraphs.
    n_words = k["n_words"]  # = len(p.split()): both split at str.isspace characters
    n_tokens = len(tok_starts)  # tokens: the matches of _TOKEN
    # Tokens and lowercased tokens as integer ids: a token's id is its rank among the distinct tokens in order of
    # first occurrence, and a lowercased token's the rank of the first distinct token that lowercases to it.
    # Each distinct token is cut out and lowercased once; counts, windows and n-grams work on the integers.
    tok_ids, firsts_at = feature_counts.token_ranks(cps, tok_starts, tok_ends)
    tok_weights = np.bincount(tok_ids, minlength=len(firsts_at))  # occurrences of each distinct token
    lower_ids, n_stop, n_nie = _lowercased(p, cps, tok_starts, tok_ends, tok_ids, firsts_at, count)
    low_counts = np.bincount(lower_ids)  # by id
    n_lw = k["n_lw"]  # letter words: the matches of _LETTER_WORD
    low = p.lower()
    lines = p.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # a final newline ends the last line, it does not start a new one
    n_lines = len(lines)
    stripped = [line.strip() for line in lines]
    nonblank = [s for s in stripped if s]
    n_nonblank = len(nonblank)
    blank = n_lines - n_nonblank
    firsts = {s[0] for s in nonblank}
    n_sent = k["n_sent"]

    paragraphs = [b.strip() for b in _PARA_SPLIT.split(p)]
    paragraphs = [b for b in paragraphs if b]
    n_para = len(paragraphs)

    # Size.
    f["n_chars_log"] = math.log1p(n_chars_total)
    f["n_words_log"] = math.log1p(n_words)
    f["n_sentences_log"] = math.log1p(n_sent)
    f["n_lines_log"] = math.log1p(n_lines)
    f["n_paragraphs_log"] = math.log1p(n_para)

    # Sentences.
    mean, std = _mean_std_of_sums(n_sent, k["sent_words"], k["sent_words_sq"])
    f["avg_sentence_length"] = mean
    f["std_sentence_length"] = std
    f["sentence_length_cv"] = _div(std, mean)
    f["short_sentence_ratio"] = _div(k["short_sent"], n_sent)
    f["long_sentence_ratio"] = _div(k["long_sent"], n_sent)
    f["lowercase_sentence_ratio"] = _div(k["lowercase_sent"], n_sent)  # s == s.lower(): no LOWER_CHANGES
    f["no_upper_start_sentence_ratio"] = _div(k["no_upper_start"], n_sent)

    # Paragraphs.
    f["avg_paragraph_length"] = _div(n_words, n_para)  # paragraphs split at whitespace: they share the words
    f["lines_per_paragraph"] = _div(n_nonblank, n_para)
    f["duplicate_paragraph_ratio"] = _div(n_para - len(set(paragraphs)), n_para)

    # Lines.
    line_lens = np.fromiter(map(len, lines), dtype=np.int64, count=n_lines)
    nonblank_lens = line_lens[np.fromiter(map(bool, stripped), dtype=bool, count=n_lines)]
    mean, std = _mean_std(nonblank_lens)
    f["average_lines"] = mean
    f["line_length_cv"] = _div(std, mean)
    f["max_line_length_log"] = math.log1p(line_lens.max()) if n_lines else 0.0
    f["blank_lines"] = float(blank)
    f["blank_lines_ratio"] = _div(blank, n_lines)
    f["short_line_ratio_20"] = _div(np.count_nonzero(nonblank_lens < 20), n_nonblank)
    f["duplicate_line_ratio"] = _div(n_nonblank - len(set(nonblank)), n_nonblank)
    ends = [s.rstrip("\"'”»)]") for s in nonblank]
    f["line_end_punct_ratio"] = _div(sum(1 for s in ends if s.endswith((".", "!", "?", "…"))), n_nonblank)
    f["line_start_upper_ratio"] = _div(sum(1 for s in nonblank if s[0].isupper()), n_nonblank)
    f["line_end_ellipsis_ratio"] = _div(sum(1 for s in ends if s.endswith(("...", "…"))), n_nonblank)

    # Characters.
    n_letters = c[LETTER]
    f["entropy"] = entropy + 0.0  # + 0.0 turns -0.0 into 0.0
    f["letter_ratio"] = _div(n_letters, n)
    f["overall_uppercase_ratio"] = _div(c[UPPER], n)
    f["digit_ratio"] = _div(c[DIGIT], n)
    f["whitespace_ratio"] = _div(c[SPACE], n)
    f["punct_frequency"] = _div(c[PUNCT], n)
    f["polish_diacritics_ratio"] = _div(c[POLISH], n_letters)
    f["non_latin_letter_ratio"] = _div(c[NONLATIN], n_letters)
    f["replacement_char_ratio"] = _div(count("\ufffd"), n)
    f["control_char_ratio"] = _div(c[CONTROL], n)
    f["mojibake_ratio"] = _div(len(_MOJIBAKE.findall(p)) if c[MOJI_LEAD] else 0, n)
    f["multiple_space_ratio"] = _div(k["multi_space"], n_words)  # runs of 2+ spaces or tabs (_MULTI_SPACE)
    f["special_chars_ratio_md"] = _div(c[MDSPECIAL], n)
    visible = _strip_markdown(p, firsts)
    if visible == p:  # no markup: the text's own counts
        n_lower_md, n_upper_md = c[LOWER], c[UPPER]
    else:
        visible_flags = _flags(_code_points(visible))
        n_lower_md, n_upper_md = np.count_nonzero(visible_flags & LOWER), np.count_nonzero(visible_flags & UPPER)
    f["lowercase_ratio_md"] = _div(n_lower_md, len(visible))
    f["uppercase_ratio_md"] = _div(n_upper_md, len(visible))

    # Symbols.
    for ch in _RATIO_CHARS:
        f[f"char_ratio_{ch}"] = _div(count(ch), n)

    # Punctuation.
    for name, chars in _PUNCT_MARKS:
        f[f"{name}_per_sentence"] = _div(sum(map(count, chars)), n_sent)
    ellipses = _count(_ELLIPSIS_END, p, "...", "…")
    f["ellipsis_sentence_ratio"] = _div(ellipses, n_sent)
    marks = sum(map(count, ",.;:!?"))
    # A space or tab before , . ; : ! ?  (_SPACE_BEFORE_PUNCT), and , ; before a letter (_COMMA_NO_SPACE).
    f["space_before_punct_ratio"] = _div(k["space_before_mark"], marks)
    f["comma_no_space_ratio"] = _div(k["comma_before_letter"], count(",") + count(";"))
    # Runs of 4+ equal non-space characters (_CHAR_RUN): only where four equal characters follow each other.
    runs = _CHAR_RUN.findall(p) if k["four_equal"] else []
    f["repeated_punct_runs"] = float(sum(1 for r in runs if not r.isalnum()))

    # Words.
    mean, std = _mean_std_of_sums(n_lw, k["lw_chars"], k["lw_chars_sq"])
    f["avg_word_length"] = mean
    f["word_length_std"] = std
    f["longest_word_log"] = math.log1p(k["lw_max"])
    for i in range(1, _MAX_WORD_LEN_BIN):
        f[f"word_len_{i}"] = _div(bins[i], n_lw)
    f[f"word_len_{_MAX_WORD_LEN_BIN}plus"] = _div(bins[_MAX_WORD_LEN_BIN], n_lw)
    # Words without a letter (_NO_LETTER_WORD): words minus those with a letter.
    f["non_alpha_word_fractions"] = _div(n_words - k["words_with_letter"], n_words)
    f["single_char_ratio"] = _div(k["single_char_words"], n_words)
    # Letter words whose every character is an uppercase or a lowercase letter are classified from flag counts
    # (isupper: all upper; islower: all lower; istitle: the first upper, the rest lower); the others (uncased
    # or titlecase letters, ...) by str methods. A one-letter uppercase word is both isupper() and istitle():
    # it counts as capitalised, not as all-caps.
    n_upper, n_lower, n_title = k["lw_upper"], k["lw_lower"], k["lw_title"]
    for w in map(p.__getitem__, map(slice, odd_starts.tolist(), odd_ends.tolist())):
        n_upper += w.isupper()
        n_lower += w.islower()
        n_title += w.istitle()
    n_caps = n_upper - k["lw_single_upper"]
    f["all_caps_word_ratio"] = _div(n_caps, n_lw)
    f["capitalized_word_ratio"] = _div(n_title, n_lw)
    f["camel_case_word_ratio"] = _div(n_lw - n_lower - n_caps - n_title, n_lw)
    f["mixed_alnum_token_ratio"] = _div(n_tokens - k["tokens_alpha"] - k["tokens_digit"], n_tokens)
    f["type_token_ratio"] = _windowed_ttr(lower_ids)
    first = low_counts if n_tokens <= 1000 else np.bincount(lower_ids[:1000])  # the counts of the first 1,000
    f["hapax_ratio"] = _div(np.count_nonzero(first == 1), np.count_nonzero(first))
    f["top_word_ratio"] = _div(low_counts.max(), n_tokens) if n_tokens else 0.0
    f["stop_word_ratio"] = _div(n_stop, n_tokens)
    f["repeated_letter_runs"] = float(sum(1 for r in runs if r.isalpha()))
    f["syllables_per_word"] = _div(k["vowel_groups"], n_lw)
    n_long = k["lw_long"]
    f["lix"] = _div(n_lw, n_sent) + 100 * _div(n_long, n_lw)
    f["rix"] = _div(n_long, n_sent)

    # Repetition.
    head = lower_ids[:MAX_NGRAM_TOKENS]
    f["dup_3gram_ratio"], f["dup_5gram_ratio"], f["consecutive_duplicate_word_ratio"] = _ngram_repeats(head)
    raw = p.encode("utf-8", "surrogatepass")[:COMPRESS_BYTES]
    f["compression_ratio"] = _div(len(zlib.compress(raw)), len(raw))

    # Web.
    urls = _URL.findall(p) if "http" in low or "www." in low else []
    f["url_count"] = float(len(urls))
    f["url_char_ratio"] = _div(sum(map(len, urls)), n)
    f["email_count"] = float(_count(_EMAIL, p, "@"))
    f["emoji_count"] = float(c[EMOJI])
    emoticons = 0
    if k["emoticon_start"]:  # an eye, then a mouth directly or after a nose
        emoticons = len(_EMOTICON.findall(p))
    if count("x") or count("X") or count("<") or count("^"):
        emoticons += len(_EMOTICON_2.findall(p))
    f["emoticons"] = float(emoticons)
    f["html_tags"] = float(_count(_HTML_TAG, p, "<"))
    f["html_entities"] = float(_count(_HTML_ENTITY, p, "&"))
    boiler = 0
    if any(k in low for k in _BOILERPLATE_WORDS):  # rare: only then look line by line
        boiler = sum(1 for s in nonblank if any(k in s.lower() for k in _BOILERPLATE_WORDS))
    f["boilerplate_line_ratio"] = _div(boiler, n_nonblank)

    # Markdown. Line-start patterns run only when some line starts with their marker.
    md = {"md_headings": _count(_MD_HEADING, p) if "#" in firsts else 0,
          "md_bullet_items": _count(_MD_BULLET, p) if _can_start(firsts, "-*+•") else 0,
          "md_ordered_items": _count(_MD_ORDERED, p) if c[DIGIT] and _can_start(firsts, "", digit=True) else 0,
          "md_blockquotes": _count(_MD_QUOTE, p) if ">" in firsts else 0,
          "md_table_rows": _count(_MD_TABLE_ROW, p, "|")}
    links = _MD_LINK.findall(p) if "](" in p else []
    n_images = sum(1 for bang, _ in links if bang)
    fences = _count(_MD_FENCE, p, "```", "~~~")
    tables, aligned = _tables(lines) if "|" in p else (0, 0)
    f["md_headings"] = float(md["md_headings"])
    f["md_heading_ratio"] = _div(md["md_headings"], n_nonblank)
    f["md_bullet_items"] = float(md["md_bullet_items"])
    f["ratio_of_bulletpoints"] = _div(md["md_bullet_items"], n_nonblank)
    f["md_ordered_items"] = float(md["md_ordered_items"])
    f["md_ordered_item_ratio"] = _div(md["md_ordered_items"], n_nonblank)
    f["md_links"] = float(len(links) - n_images)
    f["md_link_ratio"] = _div(len(links) - n_images, n_nonblank)
    f["md_images"] = float(n_images)
    f["md_inline_code"] = float(_count(_MD_INLINE_CODE, p, "`"))
    f["md_code_blocks"] = float((fences + 1) // 2)
    f["md_code_line_ratio"] = _div(_code_lines(lines), n_lines) if fences else 0.0
    f["md_blockquotes"] = float(md["md_blockquotes"])
    f["md_blockquote_ratio"] = _div(md["md_blockquotes"], n_nonblank)
    f["md_horizontal_rules"] = float(_count(_MD_HR, p) if _can_start(firsts, "-*_") else 0)
    f["md_table_rows"] = float(md["md_table_rows"])
    f["md_table_row_ratio"] = _div(md["md_table_rows"], n_nonblank)
    f["md_tables"] = float(tables)
    f["md_table_alignment"] = _div(aligned, tables)
    f["md_emphasis"] = float(_count(_MD_EMPHASIS, p, "*", "_"))

    # Morphology and grammar.
    m = _morphology(p, cps, tok_starts[firsts_at], tok_ends[firsts_at], tok_weights)
    segs = m[0]
    ratio = {cls: _div(m[_COL[cls]], segs) for cls in _POS_CLASSES}
    f["oovs"] = ratio["oov"]
    for cls in _POS_CLASSES[:-1]:
        f[f"{cls}_pos_ratio" if cls == "other" else f"{cls}_ratio"] = ratio[cls]
    f["lexical_density"] = sum(ratio[k] for k in ("noun", "gerund", "verb", "adj", "participle", "adv"))
    f["verb_noun_ratio"] = _div(ratio["verb"], ratio["noun"])
    f["adj_noun_ratio"] = _div(ratio["adj"], ratio["noun"])
    f["oov_digit_ratio"] = _div(m[_COL["oov_digit"]], m[_COL["oov"]])
    f["oov_capitalized_ratio"] = _div(m[_COL["oov_cap"]], m[_COL["oov"]])
    for name, _ in _GRAMMAR:
        f[name] = _div(m[_COL[name]], segs)
    f["g_negation_ratio"] = _div(n_nie, n_tokens)

    return dict(zip(f, map(float, f.values())))  # f is in the order of FEATURES (the tests check)


def feature_matrix(texts, num_proc: int = 1) -> np.ndarray:
    """The features of each text (None counts as empty) as a float64 matrix, columns in FEATURES order.

    With num_proc > 1 the texts are cut into num_proc contiguous shares of about equal characters (text_shares),
    each extracted in a worker process of the standard library's pool. Forked workers inherit the texts, the
    loaded tables and morfeusz, so only the shares' (start, stop) go to them and only their matrices come back;
    each keeps its own token cache, and the values do not depend on it. Where fork is not there (Windows), the
    shares' texts are sent to the workers instead."""
    texts = [t or "" for t in texts]
    procs = min(num_proc, len(texts))
    if procs <= 1:
        rows = [list(extract(t).values()) for t in texts]
        return np.array(rows, dtype=float).reshape(len(rows), len(FEATURES))
    import multiprocessing

    cuts = text_shares(texts, procs)
    if "fork" not in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context().Pool(procs) as pool:
            return np.concatenate(pool.map(feature_matrix, [texts[a:b] for a, b in cuts]))
    warm_up()  # once here, inherited by every forked worker
    _SHARED_TEXTS[:] = texts
    try:
        with multiprocessing.get_context("fork").Pool(procs) as pool:
            return np.concatenate(pool.map(_share_matrix, cuts))
    finally:
        _SHARED_TEXTS.clear()


_SHARED_TEXTS: list[str] = []  # feature_matrix's texts while its forked workers run; they inherit them


def _share_matrix(share: tuple[int, int]) -> np.ndarray:
    return feature_matrix(_SHARED_TEXTS[share[0]:share[1]])


def text_shares(texts: list[str], n: int) -> list[tuple[int, int]]:
    """n contiguous (start, stop) shares of the texts (n <= len(texts)), none empty, each cut at the text boundary
    nearest to an equal share of the characters. A worker's time goes with its characters: cut at equal counts,
    the first half of benchmarks/features.py's 2,000 documents holds 18% more text than the second."""
    before = np.concatenate([[0], np.cumsum([len(t) for t in texts])])  # characters before each cut
    cuts = [0]
    for k in range(1, n):
        target = before[-1] * k / n
        cut = int(np.searchsorted(before, target))
        if cut and target - before[cut - 1] <= before[cut] - target:
            cut -= 1  # the nearer boundary
        cuts.append(min(max(cut, cuts[-1] + 1), len(texts) - (n - k)))  # no share empty while texts last
    return list(zip(cuts, [*cuts[1:], len(texts)]))


def warm_up() -> None:
    """Build the character tables, load the morfeusz2 dictionary and the compiled loops now (forked workers
    inherit them all; numba compiles the loops once per machine and loads them from its cache afterwards)."""
    extract("Ala ma kota.")
    extract("Żółw İzmir x2 " * 120)  # Python's lowercasing, n-gram windows
    grow = feature_counts.StringTable(1)  # a table's growth
    cps = _code_points("abc")
    grow.add(cps, np.arange(3), np.arange(1, 4), np.arange(3))


def extract_dataset(ds, num_proc: int = 1):
    """`ds` with one float64 column per feature added (existing columns kept), from feature_matrix(ds["text"],
    num_proc). Not datasets.map(num_proc=...): for each call it starts a pool and a manager process, sends each
    shard's finished table back through the manager and merges the shards, which cost about 0.6 s and 1.2 CPU
    seconds here, so that two processes were no faster than one on benchmarks/features.py's 2,000 documents."""
    import datasets

    matrix = feature_matrix(ds["text"], num_proc=num_proc)
    columns = datasets.Dataset.from_dict({n: matrix[:, k] for k, n in enumerate(FEATURES)},
                                         features=datasets.Features({n: datasets.Value("float64") for n in FEATURES}))
    return datasets.concatenate_datasets([ds, columns], axis=1)


def feature_table():
    """The chapter's table: family, feature, definition, and whether the report names it in its top 25."""
    import pandas as pd

    ours = {REPORT_NAMES.get(r, r) for r in REPORT_TOP25}
    return pd.DataFrame([{"family": FAMILY[n], "feature": n, "definition": d, "report_top25": n in ours}
                         for n, d in FEATURES.items()])
