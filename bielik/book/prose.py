"""Sentences written from the figures beside them, so that no scale or seed prints a claim its own outputs
contradict. A chapter's cell builds the sentence with these helpers and shows it with `say` (a Markdown output
of a cell tagged remove-input: on the page it reads as the chapter's prose).
"""
from __future__ import annotations

import math


def say(text: str) -> None:
    """Show `text` as Markdown: the cell's output reads as a paragraph of the page."""
    from IPython.display import Markdown, display

    display(Markdown(text))


def how_many(share: float) -> str:
    """The word for a share of a whole: none, few, a minority, about half, most, nearly all, all."""
    if share <= 0:
        return "none"
    if share >= 1:
        return "all"
    for upper, word in ((0.1, "few"), (0.4, "a minority"), (0.6, "about half"), (0.9, "most")):
        if share < upper:
            return word
    return "nearly all"


def amount(value: float, unit: str) -> str:
    """A figure with its unit, singular for exactly one: "1 point", "12.5 points"."""
    return f"{value:.3g} {unit}{'' if value == 1 else 's'}"


def binomial_se(p: float, n: int) -> float:
    """The standard error of a proportion p measured on n items."""
    return math.sqrt(max(p * (1 - p), 0.0) / n) if n else float("nan")


def gap_noise(p: float, n: int) -> float:
    """Twice the standard error of the difference of two independent proportions near p, each measured on n items:
    two accuracies closer than this are within the noise of the measurement."""
    return 2 * math.sqrt(2) * binomial_se(p, n)


def auc_se(auc: float, n_positive: int, n_negative: int) -> float:
    """The standard error of an AUC from its value and the two class sizes (Hanley and McNeil 1982)."""
    if not (n_positive and n_negative and math.isfinite(auc)):
        return float("nan")
    q1, q2 = auc / (2 - auc), 2 * auc ** 2 / (1 + auc)
    var = (auc * (1 - auc) + (n_positive - 1) * (q1 - auc ** 2) + (n_negative - 1) * (q2 - auc ** 2)) \
        / (n_positive * n_negative)
    return math.sqrt(var)


def difference(a: float, b: float, noise: float, *, higher: str = "higher", lower: str = "lower") -> str:
    """How a compares with b, given the noise of the difference (two standard errors, or a second seed's spread):
    "higher", "lower", or "within the noise"."""
    if not math.isfinite(noise) or abs(a - b) <= noise:
        return "within the noise"
    return higher if a > b else lower


def compared(a: float, b: float, noise: float, what: str) -> str:
    """`difference` as a phrase about b, named `what`: "higher than what", "lower than what" or "within the noise of
    what"."""
    d = difference(a, b, noise)
    return f"{d} of {what}" if d == "within the noise" else f"{d} than {what}"


def percent(x: float) -> str:
    """0.514 -> '51%'; below 1% and above 0, '<1%'."""
    return "<1%" if 0 < x < 0.005 else f"{x:.0%}"
