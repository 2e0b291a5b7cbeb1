"""Chapter 00's figures: the pipeline map, the up-scaling layer map and the headline scores."""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

from bielik.book.chapters import CHAPTERS, Chapter
from bielik.model.upscaling import layer_map

STAGE_COLOURS = {"data": "#d9ead3", "model": "#cfe2f3", "post": "#fce5cd", "ship": "#ead1dc"}
_KIND = {"01": "data", "02": "data", "03": "model", "04": "model", "05": "post", "06": "post",
         "07": "post", "08": "ship", "09": "ship"}


def draw_pipeline(chapters: list[Chapter] | None = None, per_row: int = 3, dpi: int = 110):
    """The pipeline as boxes in a snake: each chapter, the report's method, the artifact it hands on."""
    stages = [c for c in (chapters or CHAPTERS) if c.number != "00"]
    rows = (len(stages) + per_row - 1) // per_row
    w, h, gx, gy = 3.0, 1.5, 0.7, 0.9
    fig, ax = plt.subplots(figsize=(per_row * (w + gx), rows * (h + gy) + 0.3), dpi=dpi)
    centres = []
    for i, ch in enumerate(stages):
        r, c = divmod(i, per_row)
        if r % 2:  # odd rows run right to left, so each arrow is short
            c = per_row - 1 - c
        x, y = c * (w + gx), -r * (h + gy)
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.12",
                                    fc=STAGE_COLOURS[_KIND.get(ch.number, "data")], ec="#444", lw=1))
        ax.text(x + w / 2, y + h - 0.28, f"{ch.number}  {ch.title}", ha="center", va="center",
                fontsize=10, weight="bold")
        ax.text(x + w / 2, y + h / 2 - 0.05, _wrap(ch.method, 34), ha="center", va="center", fontsize=7.5)
        ax.text(x + w / 2, y + 0.2, f"-> {ch.produces}", ha="center", va="center", fontsize=7.5,
                style="italic", color="#333")
        centres.append((x, y))
    for (x0, y0), (x1, y1) in zip(centres, centres[1:]):
        if y0 == y1:
            start = (x0 + w, y0 + h / 2) if x1 > x0 else (x0, y0 + h / 2)
            end = (x1, y1 + h / 2) if x1 > x0 else (x1 + w, y1 + h / 2)
        else:
            start, end = (x0 + w / 2, y0), (x1 + w / 2, y1 + h)
        ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="-|>", color="#444", lw=1.3))
    ax.set_xlim(-0.2, per_row * (w + gx) - gx + 0.2)
    ax.set_ylim(-(rows - 1) * (h + gy) - 0.2, h + 0.2)
    ax.axis("off")
    ax.set_title("The Bielik 11B v2 pipeline, one chapter per stage", fontsize=12)
    fig.tight_layout()
    return fig


def _wrap(text: str, width: int) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join(lines + [line])


def draw_layer_map(n: int, m: int, dpi: int = 110):
    """Which source layer each layer of the up-scaled model copies: two copies, the junction trimmed."""
    rows = layer_map(n, m)
    fig, ax = plt.subplots(figsize=(10, 2.6), dpi=dpi)
    for new, copy, src in rows:
        colour = "#6fa8dc" if copy == "bottom" else "#f6b26b"
        ax.add_patch(plt.Rectangle((new, 1.2), 0.9, 0.8, fc=colour, ec="white"))
        ax.plot([src + 0.45, new + 0.45], [0.8, 1.2], color=colour, lw=0.6, alpha=0.8)
    for k in range(n):
        dup = m <= k < n - m
        ax.add_patch(plt.Rectangle((k, 0), 0.9, 0.8, fc="#999" if dup else "#ccc", ec="white"))
    ax.text(-0.5, 0.4, f"source ({n})", ha="right", va="center", fontsize=9)
    ax.text(-0.5, 1.6, f"up-scaled ({len(rows)})", ha="right", va="center", fontsize=9)
    ax.set_xlim(-6, len(rows) + 0.5)
    ax.set_ylim(-0.3, 2.3)
    ax.axis("off")
    ax.set_title(f"Depth up-scaling n={n}, m={m}: bottom copy layers 0-{n - m - 1} (blue), "
                 f"top copy layers {m}-{n - 1} (orange); dark source layers appear twice", fontsize=9)
    fig.tight_layout()
    return fig


def draw_scores(rows: list[dict], dpi: int = 110):
    """Horizontal bars of the Open PL LLM Leaderboard 5-shot averages, Bielik 11B v2 highlighted."""
    rows = sorted(rows, key=lambda r: r["score"])
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(rows) + 0.8), dpi=dpi)
    colours = ["#cc4125" if r["model"].startswith("Bielik-11B") else "#999" for r in rows]
    ax.barh([r["model"] for r in rows], [r["score"] for r in rows], color=colours)
    for i, r in enumerate(rows):
        ax.text(r["score"] + 0.5, i, f"{r['score']:.2f}", va="center", fontsize=8)
    ax.set_xlabel("Open PL LLM Leaderboard, 5-shot, baseline-normalised average (Report Tables 7-8)")
    ax.tick_params(axis="y", labelsize=8)
    ax.set_xlim(0, max(r["score"] for r in rows) * 1.12)
    fig.tight_layout()
    return fig
