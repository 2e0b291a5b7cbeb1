"""Stylometric features of a Polish document for the quality classifier (Report §3.1.2).

The report describes each document by about 150 features "inspired by StyloMetrix" plus Markdown features,
and names only its top 25 by SHAP; the definitions here are ours, one line each in `FEATURES`.
`extract(text)` returns them all as finite floats (0 where a denominator is empty).

Design choices, for speed on millions of documents and safety on any input:
- Every feature except `n_chars_log` looks at the first `MAX_CHARS` characters (NFC-normalised, CRLF -> LF),
  so a 5 MB single line costs what a 100 kB document costs. Regexes are linear (bounded or
  delimiter-excluding repeats); per-line and per-sentence Python loops run over that bounded prefix.
- Character classes come from one lookup table indexed by code point (numpy), not per-character Python.
- Part of speech comes from morfeusz2 without a tagger: every interpretation is kept, and each segment span
  (start, end) contributes 1/k to each of the k distinct POS classes of its interpretations (fractional
  counting). Morfeusz analyses each token (run of letters/digits) of the prefix on its own: its analysis
  does not depend on context, so each distinct token is analysed once and cached per process, and repeated
  words cost a dict lookup. (On a novel the POS ratios agree with whole-text analysis to within 0.002.)
- One morfeusz2 instance per process, created lazily, so the functions work in forked `datasets.map` workers.
"""
from __future__ import annotations

import math
import operator
import os
import re
import unicodedata
import zlib
from collections import Counter

import numpy as np

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


def _mojibake_pattern() -> re.Pattern:
    """Two-character sequences that UTF-8 bytes become when decoded as Latin-1, cp1252 or cp1250:
    a lead byte 0xC2-0xC5 (U+0080-U+017F, Polish letters included) or 0xE2 (typographic quotes and dashes)
    followed by a continuation byte 0x80-0xBF."""
    leads, conts = set(), set()
    for codec in ("latin-1", "cp1252", "cp1250"):
        leads |= set(bytes([0xC2, 0xC3, 0xC4, 0xC5, 0xE2]).decode(codec, errors="ignore"))
        conts |= set(bytes(range(0x80, 0xC0)).decode(codec, errors="ignore"))
    return re.compile(f"[{re.escape(''.join(sorted(leads)))}][{re.escape(''.join(sorted(conts)))}]")


_MOJIBAKE = _mojibake_pattern()

# ---------------------------------------------------------------------------------------------------------
# Character classes: one uint16 of flags per code point, looked up with numpy.

(LETTER, UPPER, LOWER, DIGIT, SPACE, PUNCT, CONTROL, POLISH, NONLATIN, EMOJI, MDSPECIAL,
 VOWEL) = (1 << i for i in range(12))
_TABLE_SIZE = 0x20000  # planes 0-1; higher code points (CJK extensions, private use) share the last slot
_LATIN_RANGES = ((0x0041, 0x024F), (0x0250, 0x02FF), (0x1E00, 0x1EFF), (0x2C60, 0x2C7F), (0xA720, 0xA7FF),
                 (0xAB30, 0xAB6F), (0xFB00, 0xFB06), (0xFF21, 0xFF5A))
_EMOJI_RANGES = ((0x2600, 0x27BF), (0x2B50, 0x2B55), (0x1F000, 0x1FAFF))
_TABLE: np.ndarray | None = None


def _char_table() -> np.ndarray:
    global _TABLE
    if _TABLE is None:
        chars = "".join(map(chr, range(_TABLE_SIZE)))
        t = np.zeros(_TABLE_SIZE + 1, dtype=np.uint16)

        def mark(flag, values):
            t[:_TABLE_SIZE] |= np.fromiter(values, dtype=bool, count=_TABLE_SIZE).astype(np.uint16) * flag

        mark(LETTER, map(str.isalpha, chars))
        mark(UPPER, map(str.isupper, chars))
        mark(LOWER, map(str.islower, chars))
        mark(DIGIT, map(str.isdecimal, chars))
        mark(SPACE, map(str.isspace, chars))
        cats = list(map(unicodedata.category, chars))
        mark(PUNCT, (c[0] == "P" for c in cats))
        mark(CONTROL, (c in ("Cc", "Cf") for c in cats))
        for c in "\t\n\r":
            t[ord(c)] &= ~np.uint16(CONTROL)
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
        t[_TABLE_SIZE] = LETTER | NONLATIN
        _TABLE = t
    return _TABLE


def _code_points(s: str) -> np.ndarray:
    # surrogatepass: lone surrogates (from errors="surrogateescape" decoding) must not crash
    return np.frombuffer(s.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _flags(cps: np.ndarray) -> np.ndarray:
    return _char_table()[np.minimum(cps, _TABLE_SIZE)]


def _flag_counts(flags: np.ndarray, which=(LETTER, UPPER, LOWER, DIGIT, SPACE, PUNCT, CONTROL, POLISH, NONLATIN,
                                            EMOJI, MDSPECIAL)) -> dict[int, int]:
    return {flag: int(np.count_nonzero(flags & flag)) for flag in which}


def _vowel_groups(flags: np.ndarray) -> int:
    """Maximal runs of vowels: vowels not preceded by a vowel."""
    v = (flags & VOWEL) > 0
    return int(np.count_nonzero(v[1:] & ~v[:-1])) + int(v[:1].sum())


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

_MORFEUSZ: tuple[int, object] | None = None  # (pid, instance): a forked worker makes its own
_CACHE: dict[str, int] = {}  # token -> id of its row
_ROW_IDS: dict[tuple, int] = {}  # distinct rows (far fewer than tokens: most tokens share one) -> id
_MATRIX = np.zeros((1024, _N_COLS))  # row k is the row with id k; doubled when full


def _morfeusz():
    global _MORFEUSZ
    if _MORFEUSZ is None or _MORFEUSZ[0] != os.getpid():
        import morfeusz2

        _MORFEUSZ = (os.getpid(), morfeusz2.Morfeusz(generate=False))
    return _MORFEUSZ[1]


def _analyse_token(tok: str) -> int:
    """The cached row of one token: its word segments and their fractional POS and grammar counts."""
    spans: dict[tuple[int, int], list[str]] = {}
    if len(tok) <= MAX_TOKEN_LEN:
        for start, end, interp in _morfeusz().analyse(tok):
            spans.setdefault((start, end), []).append(interp[2])
    if not spans:
        spans = {(0, 1): ["ign"]}
    row = [0.0] * _N_COLS
    for tags in spans.values():
        parts = [t.split(":") for t in tags]
        pos = {p[0] for p in parts} - {"interp"}
        if not pos:
            continue  # a punctuation segment is not a word segment
        row[0] += 1
        classes = {_TAG_CLASS.get(p, "other") for p in pos}
        for c in classes:
            row[_COL[c]] += 1 / len(classes)
        fields = {f for p in parts for f in p}
        for name, tag in _GRAMMAR:
            row[_COL[name]] += tag in fields
        if classes == {"oov"}:
            row[_COL["oov_digit"]] += any(ch.isdigit() for ch in tok)
            row[_COL["oov_cap"]] += tok[0].isupper()
    return _row_id(tuple(row))


def _row_id(row: tuple) -> int:
    global _MATRIX
    i = _ROW_IDS.get(row)
    if i is None:
        i = _ROW_IDS[row] = len(_ROW_IDS)
        if i == len(_MATRIX):
            _MATRIX = np.concatenate([_MATRIX, np.zeros_like(_MATRIX)])
        _MATRIX[i] = row
    return i


def clear_cache() -> None:
    """Forget every analysed token (the benchmark uses it to time a cold cache)."""
    global _MATRIX
    _CACHE.clear()
    _ROW_IDS.clear()
    _MATRIX = np.zeros((1024, _N_COLS))


def _morphology(tokens: list[str]) -> np.ndarray:
    """Column sums of the tokens' rows, repetitions included."""
    if not tokens:
        return np.zeros(_N_COLS)
    if len(_CACHE) > MAX_CACHE:
        clear_cache()
    counts = Counter(tokens)
    ids = []
    for tok in counts:
        i = _CACHE.get(tok)
        if i is None:
            i = _CACHE[tok] = _analyse_token(tok)
        ids.append(i)
    weights = np.fromiter(counts.values(), dtype=float, count=len(counts))
    return weights @ _MATRIX[np.array(ids)]


# ---------------------------------------------------------------------------------------------------------
# Helpers.

def _div(a, b) -> float:
    return float(a) / b if b else 0.0


def _mean_std(values: np.ndarray) -> tuple[float, float]:
    return (float(values.mean()), float(values.std())) if len(values) else (0.0, 0.0)


def _count(pattern: re.Pattern, text: str, *needles: str) -> int:
    """Matches of `pattern`; skipped (0) when none of the needles, which every match contains, occurs."""
    if needles and not any(n in text for n in needles):
        return 0
    return len(pattern.findall(text))


def _strip_markdown(text: str) -> str:
    """The text a reader sees: links and images become their text; line markers, fences, table separators,
    HTML tags, horizontal rules and the characters * _ ` | ~ are removed."""
    s = _MD_LINK.sub(r"\2", text) if "](" in text else text
    if "```" in s or "~~~" in s:
        s = _MD_FENCE_LINE.sub("", s)
    if "|" in s:
        s = _MD_TABLE_SEP_LINE.sub("", s)
    s = _MD_HR.sub("", s)
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


def _entropy(cps: np.ndarray) -> float:
    if not len(cps):
        return 0.0
    _, counts = np.unique(cps, return_counts=True)
    p = counts / len(cps)
    return float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0 turns -0.0 into 0.0


def _dup_ngram_ratio(tokens: list[str], n: int) -> float:
    grams = list(zip(*(tokens[i:] for i in range(n))))
    return _div(len(grams) - len(set(grams)), len(grams))


def _windowed_ttr(tokens: list[str], size: int = 100) -> float:
    if len(tokens) < size:
        return _div(len(set(tokens)), len(tokens))
    windows = [tokens[i:i + size] for i in range(0, len(tokens) - size + 1, size)]
    return sum(len(set(w)) for w in windows) / (size * len(windows))


# ---------------------------------------------------------------------------------------------------------
# The extractor.

def extract(text: str) -> dict[str, float]:
    """Every feature of FEATURES, in its order, as a finite float."""
    n_chars_total = len(text)
    p = text[:MAX_CHARS]
    if not p.isascii():
        p = unicodedata.normalize("NFC", p)
    if "\r" in p:
        p = p.replace("\r\n", "\n").replace("\r", "\n")
    f: dict[str, float] = {}
    n = len(p)

    # Units: words, tokens, letter words, lines, sentences, paragraphs.
    words = p.split()
    n_words = len(words)
    tokens = _TOKEN.findall(p)
    lower = " ".join(tokens).lower().split(" ") if tokens else []  # one C call instead of a loop
    n_tokens = len(tokens)
    cps = _code_points(p)
    flags = _flags(cps)
    c = _flag_counts(flags)
    letter_words = _LETTER_WORD.findall(p) if c[DIGIT] else tokens  # without digits the two are the same
    n_lw = len(letter_words)
    low = p.lower()
    lines = p.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # a final newline ends the last line, it does not start a new one
    n_lines = len(lines)
    stripped = [line.strip() for line in lines]
    nonblank = [s for s in stripped if s]
    n_nonblank = len(nonblank)
    blank = n_lines - n_nonblank

    sent_lens, no_upper_start, lowercase_only = [], 0, 0
    for s in _SENT_SPLIT.split(p):
        m = _LETTER.search(s)
        if m is None:
            continue  # no letter: not a sentence (e.g. '1' of '1. Item', or a line of dashes)
        sent_lens.append(len(s.split()))
        no_upper_start += not m.group().isupper()
        lowercase_only += s == s.lower()
    n_sent = len(sent_lens)
    sent_lens = np.array(sent_lens, dtype=float)

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
    mean, std = _mean_std(sent_lens)
    f["avg_sentence_length"] = mean
    f["std_sentence_length"] = std
    f["sentence_length_cv"] = _div(std, mean)
    f["short_sentence_ratio"] = _div(np.count_nonzero(sent_lens < 3), n_sent)
    f["long_sentence_ratio"] = _div(np.count_nonzero(sent_lens > 40), n_sent)
    f["lowercase_sentence_ratio"] = _div(lowercase_only, n_sent)
    f["no_upper_start_sentence_ratio"] = _div(no_upper_start, n_sent)

    # Paragraphs.
    f["avg_paragraph_length"] = _div(n_words, n_para)  # paragraphs split at whitespace: they share the words
    f["lines_per_paragraph"] = _div(n_nonblank, n_para)
    f["duplicate_paragraph_ratio"] = _div(n_para - len(set(paragraphs)), n_para)

    # Lines.
    line_lens = np.fromiter(map(len, lines), dtype=float, count=n_lines)
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
    f["entropy"] = _entropy(cps)
    f["letter_ratio"] = _div(n_letters, n)
    f["overall_uppercase_ratio"] = _div(c[UPPER], n)
    f["digit_ratio"] = _div(c[DIGIT], n)
    f["whitespace_ratio"] = _div(c[SPACE], n)
    f["punct_frequency"] = _div(c[PUNCT], n)
    f["polish_diacritics_ratio"] = _div(c[POLISH], n_letters)
    f["non_latin_letter_ratio"] = _div(c[NONLATIN], n_letters)
    f["replacement_char_ratio"] = _div(p.count("\ufffd"), n)
    f["control_char_ratio"] = _div(c[CONTROL], n)
    f["mojibake_ratio"] = _div(len(_MOJIBAKE.findall(p)), n)
    f["multiple_space_ratio"] = _div(_count(_MULTI_SPACE, p, "  ", "\t"), n_words)
    f["special_chars_ratio_md"] = _div(c[MDSPECIAL], n)
    visible = _strip_markdown(p)
    cv = _flag_counts(_flags(_code_points(visible)), (LOWER, UPPER))
    f["lowercase_ratio_md"] = _div(cv[LOWER], len(visible))
    f["uppercase_ratio_md"] = _div(cv[UPPER], len(visible))

    # Symbols.
    for ch in _RATIO_CHARS:
        f[f"char_ratio_{ch}"] = _div(p.count(ch), n)

    # Punctuation.
    for name, chars in _PUNCT_MARKS:
        f[f"{name}_per_sentence"] = _div(sum(p.count(ch) for ch in chars), n_sent)
    ellipses = _count(_ELLIPSIS_END, p, "...", "…")
    f["ellipsis_sentence_ratio"] = _div(ellipses, n_sent)
    marks = sum(p.count(ch) for ch in ",.;:!?")
    f["space_before_punct_ratio"] = _div(len(_SPACE_BEFORE_PUNCT.findall(p)), marks)
    f["comma_no_space_ratio"] = _div(len(_COMMA_NO_SPACE.findall(p)), p.count(",") + p.count(";"))
    runs = _CHAR_RUN.findall(p)
    f["repeated_punct_runs"] = float(sum(1 for r in runs if not r.isalnum()))

    # Words.
    lw_lens = np.fromiter(map(len, letter_words), dtype=np.int64, count=n_lw)
    mean, std = _mean_std(lw_lens)
    f["avg_word_length"] = mean
    f["word_length_std"] = std
    f["longest_word_log"] = math.log1p(lw_lens.max()) if n_lw else 0.0
    bins = np.bincount(np.minimum(lw_lens, _MAX_WORD_LEN_BIN), minlength=_MAX_WORD_LEN_BIN + 1)
    for k in range(1, _MAX_WORD_LEN_BIN):
        f[f"word_len_{k}"] = _div(bins[k], n_lw)
    f[f"word_len_{_MAX_WORD_LEN_BIN}plus"] = _div(bins[_MAX_WORD_LEN_BIN], n_lw)
    f["non_alpha_word_fractions"] = _div(len(_NO_LETTER_WORD.findall(p)), n_words)
    f["single_char_ratio"] = _div(list(map(len, words)).count(1), n_words)
    # Case shapes with C-level map() instead of a Python loop. A one-letter uppercase word is both isupper()
    # and istitle(): it counts as capitalised, not as all-caps.
    is_upper = np.fromiter(map(str.isupper, letter_words), dtype=bool, count=n_lw)
    n_single_upper = int(np.count_nonzero(is_upper & (lw_lens == 1)))
    n_lower = sum(map(str.islower, letter_words))
    n_title = sum(map(str.istitle, letter_words))
    n_caps = int(is_upper.sum()) - n_single_upper
    f["all_caps_word_ratio"] = _div(n_caps, n_lw)
    f["capitalized_word_ratio"] = _div(n_title, n_lw)
    f["camel_case_word_ratio"] = _div(n_lw - n_lower - n_caps - n_title, n_lw)
    n_alpha_tokens = sum(map(str.isalpha, tokens))
    n_digit_tokens = sum(map(str.isdigit, tokens))
    f["mixed_alnum_token_ratio"] = _div(n_tokens - n_alpha_tokens - n_digit_tokens, n_tokens)
    f["type_token_ratio"] = _windowed_ttr(lower)
    first = Counter(lower[:1000])
    f["hapax_ratio"] = _div(list(first.values()).count(1), len(first))
    counts = Counter(lower)
    f["top_word_ratio"] = _div(max(counts.values()), n_tokens) if counts else 0.0
    f["stop_word_ratio"] = _div(sum(counts[w] for w in counts.keys() & STOP_WORDS), n_tokens)
    f["repeated_letter_runs"] = float(sum(1 for r in runs if r.isalpha()))
    f["syllables_per_word"] = _div(_vowel_groups(flags), n_lw)
    n_long = int(np.count_nonzero(lw_lens > 6))
    f["lix"] = _div(n_lw, n_sent) + 100 * _div(n_long, n_lw)
    f["rix"] = _div(n_long, n_sent)

    # Repetition.
    head = lower[:MAX_NGRAM_TOKENS]
    f["dup_3gram_ratio"] = _dup_ngram_ratio(head, 3)
    f["dup_5gram_ratio"] = _dup_ngram_ratio(head, 5)
    f["consecutive_duplicate_word_ratio"] = _div(sum(map(operator.eq, head, head[1:])), len(head))
    raw = p.encode("utf-8", "surrogatepass")[:COMPRESS_BYTES]
    f["compression_ratio"] = _div(len(zlib.compress(raw)), len(raw))

    # Web.
    urls = _URL.findall(p) if "http" in low or "www." in low else []
    f["url_count"] = float(len(urls))
    f["url_char_ratio"] = _div(sum(map(len, urls)), n)
    f["email_count"] = float(_count(_EMAIL, p, "@"))
    f["emoji_count"] = float(c[EMOJI])
    f["emoticons"] = float(len(_EMOTICON.findall(p)) + len(_EMOTICON_2.findall(p)))
    f["html_tags"] = float(_count(_HTML_TAG, p, "<"))
    f["html_entities"] = float(_count(_HTML_ENTITY, p, "&"))
    boiler = 0
    if any(k in low for k in _BOILERPLATE_WORDS):  # rare: only then look line by line
        boiler = sum(1 for s in nonblank if any(k in s.lower() for k in _BOILERPLATE_WORDS))
    f["boilerplate_line_ratio"] = _div(boiler, n_nonblank)

    # Markdown.
    md = {"md_headings": _count(_MD_HEADING, p, "#"), "md_bullet_items": _count(_MD_BULLET, p, "-", "*", "+", "•"),
          "md_ordered_items": _count(_MD_ORDERED, p) if c[DIGIT] else 0, "md_blockquotes": _count(_MD_QUOTE, p, ">"),
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
    f["md_horizontal_rules"] = float(_count(_MD_HR, p, "-", "*", "_"))
    f["md_table_rows"] = float(md["md_table_rows"])
    f["md_table_row_ratio"] = _div(md["md_table_rows"], n_nonblank)
    f["md_tables"] = float(tables)
    f["md_table_alignment"] = _div(aligned, tables)
    f["md_emphasis"] = float(_count(_MD_EMPHASIS, p, "*", "_"))

    # Morphology and grammar.
    m = _morphology(tokens)
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
    f["g_negation_ratio"] = _div(counts.get("nie", 0), n_tokens)

    return {name: float(f[name]) for name in FEATURES}


def extract_batch(batch: dict) -> dict[str, list[float]]:
    """For `datasets.Dataset.map(batched=True)`: one list per feature, read from batch["text"]."""
    rows = [extract(t or "") for t in batch["text"]]
    return {name: [r[name] for r in rows] for name in FEATURES}


def warm_up() -> None:
    """Build the character table and load the morfeusz2 dictionary now (forked workers inherit both)."""
    extract("Ala ma kota.")


def extract_dataset(ds, num_proc: int = 1, batch_size: int = 64):
    """`ds` with one float column per feature added (existing columns kept)."""
    import datasets

    warm_up()
    float_features = datasets.Features({**ds.features, **{n: datasets.Value("float64") for n in FEATURES}})
    return ds.map(extract_batch, batched=True, batch_size=batch_size, num_proc=num_proc if num_proc > 1 else None,
                  features=float_features, desc="stylometric features")


def feature_table():
    """The chapter's table: family, feature, definition, and whether the report names it in its top 25."""
    import pandas as pd

    ours = {REPORT_NAMES.get(r, r) for r in REPORT_TOP25}
    return pd.DataFrame([{"family": FAMILY[n], "feature": n, "definition": d, "report_top25": n in ours}
                         for n, d in FEATURES.items()])
