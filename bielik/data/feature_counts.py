"""The counting loops of the stylometric features, compiled with numba (bielik.data.features calls them).

A document's features are mostly counts over its characters: words, tokens, letter words and their lengths and
cases, sentences, runs of spaces, a space before a comma, and so on. In numpy each of these is a few array
passes and Python calls on short arrays, which cost more than the counting; here they are one pass over the
document's character flags (document_counts), compiled to machine code once per machine (numba's cache,
`cache=True`, next to this file). The definitions stay in features.py (its regexes and FEATURES), and
tests/test_features.py holds every count to the regex or loop it stands in for.

Also here: a token's row of fractional POS and grammar counts from morfeusz2's interpretations (token_rows);
which tokens of a document are the same string (token_ranks), and the same lowercased (lowered); n-gram and
window counts over token ids; and StringTable, the exact table from strings of code points to integers that
holds the per-process cache of analysed tokens and the stop words.
"""
from __future__ import annotations

import numpy as np
from numba import njit

# Character classes: one uint32 of flags per code point (features._char_table builds the table).
(LETTER, UPPER, LOWER, DIGIT, SPACE, PUNCT, CONTROL, POLISH, NONLATIN, EMOJI, MDSPECIAL,
 VOWEL) = (1 << i for i in range(12))
# Flags that let the loops stand in for regex passes and per-word Python loops; each names the regex class
# it replaces.
(ALNUM,  # [^\W_]: token characters (str.isalnum, as re's \w without '_')
 WORDLET,  # [^\W\d_]: letter-word characters (alphanumeric but not a decimal digit)
 NONALPHA_ALNUM,  # alphanumeric but not alphabetic: without one, every token is alphabetic
 LOWER_CHANGES,  # ch.lower() != ch: a stretch equals its lowercase iff it has none
 SPACE_TAB, MARK6, COMMA_SEMI,  # [ \t], [,.;:!?], [,;]
 MOJI_LEAD,  # the first character of a _MOJIBAKE pair
 EYE, NOSE, MOUTH,  # [:;=], [-'^], [)(DPpOo\]\[]: the characters of an _EMOTICON
 DIGITLIKE,  # str.isdigit (decimal digits plus superscripts and the like)
 ) = (1 << i for i in range(12, 24))
N_FLAGS = 24
MAX_WORD_LEN_BIN = 13

# Positions in the integer array document_counts returns.
COUNTS = ("n_words", "single_char_words", "words_with_letter", "multi_space", "space_before_mark",
          "comma_before_letter", "four_equal", "vowel_groups", "emoticon_start", "n_sent", "sent_words",
          "sent_words_sq", "short_sent", "long_sent", "lowercase_sent", "no_upper_start", "n_lw", "lw_chars",
          "lw_chars_sq", "lw_max", "lw_long", "lw_upper", "lw_lower", "lw_title", "lw_single_upper",
          "tokens_alpha", "tokens_digit")
(N_WORDS, SINGLE_CHAR_WORDS, WORDS_WITH_LETTER, MULTI_SPACE, SPACE_BEFORE_MARK, COMMA_BEFORE_LETTER, FOUR_EQUAL,
 VOWEL_GROUPS, EMOTICON_START, N_SENT, SENT_WORDS, SENT_WORDS_SQ, SHORT_SENT, LONG_SENT, LOWERCASE_SENT,
 NO_UPPER_START, N_LW, LW_CHARS, LW_CHARS_SQ, LW_MAX, LW_LONG, LW_UPPER, LW_LOWER, LW_TITLE, LW_SINGLE_UPPER,
 TOKENS_ALPHA, TOKENS_DIGIT) = range(len(COUNTS))


@njit(cache=True, nogil=True)
def document_counts(cps, flags, part_ends, scratch, wanted):
    """Counts over one document: cps and flags per character, part_ends the ends of the parts that the
    sentence-splitting regex cuts (text, mark, text, ...), scratch a zeroed int32 array over all code points
    (left zeroed), wanted the code points whose counts are asked for.

    Returns (counts (see COUNTS), flag_counts (characters carrying each flag), wanted_counts, entropy of the
    character distribution in bits, lengths of the letter words in bins 0..13, token starts and ends, and
    the starts and ends of the letter words that the flag counts cannot classify by case)."""
    n = len(cps)
    out = np.zeros(len(COUNTS), dtype=np.int64)

    # Distinct characters and their counts, through a scratch array indexed by code point.
    distinct = np.empty(n, dtype=np.int64)
    first_flags = np.empty(n, dtype=np.int64)
    n_distinct = 0
    for i in range(n):
        cp = cps[i]
        if scratch[cp] == 0:
            distinct[n_distinct] = cp
            first_flags[n_distinct] = flags[i]
            n_distinct += 1
        scratch[cp] += 1
    flag_counts = np.zeros(N_FLAGS, dtype=np.int64)
    entropy = 0.0
    for k in range(n_distinct):
        cnt = scratch[distinct[k]]
        q = cnt / n
        entropy -= q * np.log2(q)
        f = first_flags[k]
        for b in range(N_FLAGS):
            if f & (1 << b):
                flag_counts[b] += cnt
    wanted_counts = np.empty(len(wanted), dtype=np.int64)
    for k in range(len(wanted)):
        wanted_counts[k] = scratch[wanted[k]]
    for k in range(n_distinct):
        scratch[distinct[k]] = 0

    # One pass: words, runs, pairs of neighbouring characters, tokens and letter words.
    word_cum = np.zeros(n + 1, dtype=np.int64)  # words started before each position
    bins = np.zeros(MAX_WORD_LEN_BIN + 1, dtype=np.int64)
    tok_starts = np.empty(n, dtype=np.int64)
    tok_ends = np.empty(n, dtype=np.int64)
    odd_starts = np.empty(n, dtype=np.int64)
    odd_ends = np.empty(n, dtype=np.int64)
    n_tok = n_odd = 0
    words = 0
    word_has_letter = False
    tok_start = lw_start = -1
    tok_nonalpha = tok_digits = lw_up = lw_lo = 0
    lw_first_up = False
    equal_run = 1
    for i in range(n + 1):
        word_cum[i] = words
        f = flags[i] if i < n else 0
        prev = flags[i - 1] if i > 0 else 0
        if i < n:
            space = f & SPACE
            if not space and (i == 0 or prev & SPACE):
                words += 1
                word_has_letter = False
                if i + 1 == n or flags[i + 1] & SPACE:
                    out[SINGLE_CHAR_WORDS] += 1
            if f & WORDLET and not word_has_letter:
                word_has_letter = True
                out[WORDS_WITH_LETTER] += 1
            if f & SPACE_TAB and i > 0 and prev & SPACE_TAB and not (i > 1 and flags[i - 2] & SPACE_TAB):
                out[MULTI_SPACE] += 1
            if f & MARK6 and prev & SPACE_TAB:
                out[SPACE_BEFORE_MARK] += 1
            if f & WORDLET and prev & COMMA_SEMI:
                out[COMMA_BEFORE_LETTER] += 1
            if f & VOWEL and not prev & VOWEL:
                out[VOWEL_GROUPS] += 1
            if i > 0 and cps[i] == cps[i - 1]:
                equal_run += 1
                if equal_run >= 4:
                    out[FOUR_EQUAL] = 1
            else:
                equal_run = 1
            if f & EYE and i + 1 < n:
                a, b = flags[i + 1], flags[min(i + 2, n - 1)]
                if a & MOUTH or (a & NOSE and b & MOUTH):
                    out[EMOTICON_START] = 1

        # Tokens: maximal runs of ALNUM.
        if f & ALNUM:
            if tok_start < 0:
                tok_start, tok_nonalpha, tok_digits = i, 0, 0
            tok_nonalpha += (f & NONALPHA_ALNUM) != 0
            tok_digits += (f & DIGITLIKE) != 0
        elif tok_start >= 0:
            tok_starts[n_tok], tok_ends[n_tok] = tok_start, i
            n_tok += 1
            out[TOKENS_ALPHA] += tok_nonalpha == 0
            out[TOKENS_DIGIT] += tok_digits == i - tok_start
            tok_start = -1

        # Letter words: maximal runs of WORDLET.
        if f & WORDLET:
            if lw_start < 0:
                lw_start, lw_up, lw_lo = i, 0, 0
                lw_first_up = (f & UPPER) != 0
            lw_up += (f & UPPER) != 0
            lw_lo += (f & LOWER) != 0
        elif lw_start >= 0:
            length = i - lw_start
            out[N_LW] += 1
            out[LW_CHARS] += length
            out[LW_CHARS_SQ] += length * length
            out[LW_MAX] = max(out[LW_MAX], length)
            out[LW_LONG] += length > 6
            bins[min(length, MAX_WORD_LEN_BIN)] += 1
            if length == 1 and lw_first_up:
                out[LW_SINGLE_UPPER] += 1
            if lw_up + lw_lo == length:  # every letter upper or lower: the flags decide its case shape
                out[LW_UPPER] += lw_up == length
                out[LW_LOWER] += lw_lo == length
                out[LW_TITLE] += lw_first_up and lw_up == 1
            else:
                odd_starts[n_odd], odd_ends[n_odd] = lw_start, i
                n_odd += 1
            lw_start = -1
    out[N_WORDS] = words

    # Sentences: the text parts (even indices) that contain a letter.
    for k in range(0, len(part_ends), 2):
        start = part_ends[k - 1] if k > 0 else 0
        end = part_ends[k]
        first_letter = -1
        lowercase = True
        for i in range(start, end):
            f = flags[i]
            if first_letter < 0 and f & WORDLET:
                first_letter = i
            if f & LOWER_CHANGES:
                lowercase = False
        if first_letter < 0:
            continue
        length = word_cum[end] - word_cum[start]
        out[N_SENT] += 1
        out[SENT_WORDS] += length
        out[SENT_WORDS_SQ] += length * length
        out[SHORT_SENT] += length < 3
        out[LONG_SENT] += length > 40
        out[LOWERCASE_SENT] += lowercase
        out[NO_UPPER_START] += (flags[first_letter] & UPPER) == 0
    return (out, flag_counts, wanted_counts, entropy, bins, tok_starts[:n_tok], tok_ends[:n_tok],
            odd_starts[:n_odd], odd_ends[:n_odd])


@njit(cache=True, nogil=True)
def token_rows(table, sp_id, split, n_tokens, tag_class, tag_grammar, n_classes, n_cols):
    """Each token's row from morfeusz2's interpretations of the tokens joined by spaces: table holds
    (start node, end node, tag id) per interpretation, in morfeusz's order; with split, each space segment
    (tag sp_id) ends a token, else all rows are one token and space segments are left out. tag_class is
    each tag's POS class (-1: punctuation, interp), tag_grammar its grammar fields as bits.

    A row is: word segments, then the fractional count of each of n_classes POS classes (a segment span
    whose interpretations fall in k classes adds 1/k to each), then how many word segments carry each grammar
    field; the last two columns are left 0. Returns (rows, unknown-only spans per token). A token without
    interpretations counts as one unknown segment (the last class, oov)."""
    rows = np.zeros((n_tokens, n_cols))
    n_oov = np.zeros(n_tokens, dtype=np.int64)
    oov_mask = 1 << (n_classes - 1)
    m = len(table)
    span_start = np.empty(m, dtype=np.int64)
    span_end = np.empty(m, dtype=np.int64)
    span_classes = np.empty(m, dtype=np.int64)
    span_grammar = np.empty(m, dtype=np.int64)
    token = 0
    r = 0
    while token < n_tokens:
        n_spans = 0
        n_interps = 0
        while r < m:
            tag = table[r, 2]
            if tag == sp_id:
                r += 1
                if split:
                    break
                continue
            n_interps += 1
            s, e = table[r, 0], table[r, 1]
            j = 0
            while j < n_spans and (span_start[j] != s or span_end[j] != e):
                j += 1
            if j == n_spans:
                span_start[j], span_end[j], span_classes[j], span_grammar[j] = s, e, 0, 0
                n_spans += 1
            c = tag_class[tag]
            if c >= 0:
                span_classes[j] |= 1 << c
            span_grammar[j] |= tag_grammar[tag]
            r += 1
        if n_interps == 0:
            span_classes[0], span_grammar[0] = oov_mask, 0
            n_spans = 1
        for j in range(n_spans):
            classes = span_classes[j]
            if classes == 0:
                continue  # punctuation only: not a word segment
            rows[token, 0] += 1
            k = 0
            for c in range(n_classes):
                k += (classes >> c) & 1
            for c in range(n_classes):
                if (classes >> c) & 1:
                    rows[token, 1 + c] += 1 / k
            g = span_grammar[j]
            b = 0
            while g:
                if g & 1:
                    rows[token, 1 + n_classes + b] += 1
                g >>= 1
                b += 1
            n_oov[token] += classes == oov_mask
        token += 1
    return rows, n_oov


@njit(cache=True, nogil=True, inline="always")
def _hash(cps, s, e):
    """FNV-1a over cps[s:e]."""
    h = np.uint64(14695981039346656037)
    for i in range(s, e):
        h = (h ^ np.uint64(cps[i])) * np.uint64(1099511628211)
    return h


@njit(cache=True, nogil=True, inline="always")
def _same(a, i, b, j, n):
    """Whether a[i:i + n] equals b[j:j + n]."""
    for k in range(n):
        if a[i + k] != b[j + k]:
            return False
    return True


@njit(cache=True, nogil=True)
def _slots_for(n):
    """The size of an open-addressing table for n keys: a power of two (probes wrap with a mask), at least 2n."""
    size = 8
    while size < 2 * n:
        size *= 2
    return size


@njit(cache=True, nogil=True)
def token_ranks(cps, starts, ends):
    """Which tokens are the same string: for the tokens cps[starts[t]:ends[t]], each one's rank among the
    distinct tokens in order of first occurrence, and the index of each distinct token's first occurrence.
    (A hash table over the code points, each hit compared in full: what a dict of the token strings gives.)"""
    n = len(starts)
    slots = np.full(_slots_for(n), -1, dtype=np.int64)  # distinct rank, or -1
    size = len(slots)
    ranks = np.empty(n, dtype=np.int64)
    firsts = np.empty(n, dtype=np.int64)
    n_distinct = 0
    for t in range(n):
        s, e = starts[t], ends[t]
        j = np.int64(_hash(cps, s, e) & np.uint64(size - 1))
        while True:
            d = slots[j]
            if d < 0:
                slots[j] = n_distinct
                firsts[n_distinct] = t
                ranks[t] = n_distinct
                n_distinct += 1
                break
            f = firsts[d]
            if ends[f] - starts[f] == e - s and _same(cps, starts[f], cps, s, e - s):
                ranks[t] = d
                break
            j = (j + 1) & (size - 1)
    return ranks, firsts[:n_distinct]


# ---------------------------------------------------------------------------------------------------------
# A table from strings of code points to integers, for the per-process cache of analysed tokens and the stop
# words: the tokens are looked up where they lie in the document's code points, so a known token is never cut
# out as a Python string. Open addressing over an FNV-1a hash; every hit is compared in full, so it is exact.

@njit(cache=True, nogil=True)
def _slot(slots, offsets, arena, cps, s, e):
    """The slot of the string cps[s:e]: the one holding it, or the empty one where it would go."""
    mask = len(slots) - 1
    j = np.int64(_hash(cps, s, e) & np.uint64(mask))
    while True:
        k = slots[j]
        if k < 0:
            return j
        if offsets[k + 1] - offsets[k] == e - s and _same(arena, offsets[k], cps, s, e - s):
            return j
        j = (j + 1) & mask


@njit(cache=True, nogil=True)
def table_find(slots, offsets, values, arena, cps, starts, ends):
    """The value of each string cps[starts[t]:ends[t]], or -1 where the table does not hold it."""
    out = np.empty(len(starts), dtype=np.int64)
    for t in range(len(starts)):
        k = slots[_slot(slots, offsets, arena, cps, starts[t], ends[t])]
        out[t] = values[k] if k >= 0 else -1
    return out


@njit(cache=True, nogil=True)
def table_add(slots, offsets, values, arena, size, cps, starts, ends, new_values):
    """Add the strings (the table has room for them, slots and code points) and return the new size."""
    for t in range(len(starts)):
        s, e = starts[t], ends[t]
        j = _slot(slots, offsets, arena, cps, s, e)
        if slots[j] < 0:
            a = offsets[size]
            arena[a:a + e - s] = cps[s:e]
            offsets[size + 1] = a + e - s
            values[size] = new_values[t]
            slots[j] = size
            size += 1
        else:
            values[slots[j]] = new_values[t]
    return size


@njit(cache=True, nogil=True)
def table_rehash(slots, offsets, arena, size):
    """Put the first `size` strings into the empty (all -1) `slots`."""
    for k in range(size):
        a, b = offsets[k], offsets[k + 1]
        slots[_slot(slots, offsets, arena, arena, a, b)] = k


def _empty_slots(capacity: int) -> np.ndarray:
    """Slots for `capacity` strings: a power of two (the probe wraps with a mask), at most half full."""
    return np.full(1 << max(3, (2 * capacity - 1).bit_length()), -1, dtype=np.int64)


class StringTable:
    """Strings of code points -> int64, exact. find() and add() take the strings as (starts, ends) into an
    array of code points; the arrays grow (doubling) as strings are added."""

    def __init__(self, capacity: int = 1024):
        self.size = 0
        self.slots = _empty_slots(capacity)
        self.offsets = np.zeros(capacity + 1, dtype=np.int64)  # string k is arena[offsets[k]:offsets[k + 1]]
        self.values = np.zeros(capacity, dtype=np.int64)
        self.arena = np.zeros(8 * capacity, dtype=np.uint32)

    def __len__(self) -> int:
        return self.size

    def find(self, cps: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        return table_find(self.slots, self.offsets, self.values, self.arena, cps, starts, ends)

    def add(self, cps: np.ndarray, starts: np.ndarray, ends: np.ndarray, values: np.ndarray) -> None:
        need = self.size + len(starts)
        if need > len(self.values):
            capacity = max(need, 2 * len(self.values))
            self.values = np.concatenate([self.values, np.zeros(capacity - len(self.values), dtype=np.int64)])
            self.offsets = np.concatenate([self.offsets, np.zeros(capacity + 1 - len(self.offsets), dtype=np.int64)])
            self.slots = _empty_slots(capacity)
            table_rehash(self.slots, self.offsets, self.arena, self.size)
        chars = self.offsets[self.size] + int((ends - starts).sum())
        if chars > len(self.arena):
            self.arena = np.concatenate([self.arena, np.zeros(max(chars, 2 * len(self.arena)) - len(self.arena),
                                                              dtype=np.uint32)])
        self.size = table_add(self.slots, self.offsets, self.values, self.arena, self.size, cps, starts, ends,
                              values)


@njit(cache=True, nogil=True)
def lowered(cps, lower):
    """cps with each code point below len(lower) replaced by lower[cp] (the others are kept)."""
    out = np.empty(len(cps), dtype=np.uint32)
    for i in range(len(cps)):
        c = cps[i]
        out[i] = lower[c] if c < len(lower) else c
    return out


@njit(cache=True, nogil=True)
def distinct_ngrams(ids, n):
    """How many distinct n-grams (windows ids[i:i + n]) the sequence has: a hash table of window starts, each
    hit compared in full."""
    m = len(ids) - n + 1
    if m <= 0:
        return 0
    slots = np.full(_slots_for(m), -1, dtype=np.int64)  # a window's start, or -1
    size = len(slots)
    distinct = 0
    for i in range(m):
        s = np.int64(_hash(ids, i, i + n) & np.uint64(size - 1))
        while True:
            a = slots[s]
            if a < 0:
                slots[s] = i
                distinct += 1
                break
            if _same(ids, a, ids, i, n):
                break
            s = (s + 1) & (size - 1)
    return distinct


@njit(cache=True, nogil=True)
def window_types(ids, size):
    """The number of distinct ids in each consecutive window of `size` (a shorter rest is left out), summed;
    ids are non-negative."""
    seen = np.full(ids.max() + 1 if len(ids) else 1, -1, dtype=np.int64)  # the last window each id was seen in
    total = 0
    for i in range((len(ids) // size) * size):
        w = i // size
        if seen[ids[i]] != w:
            seen[ids[i]] = w
            total += 1
    return total
