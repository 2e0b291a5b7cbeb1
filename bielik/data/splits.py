"""The stable hash every split and deterministic pick of the book uses: a group's place in [0, 1), and the
train/validation/test split it falls in, the same on every machine and Python."""
from __future__ import annotations

import hashlib


def stable_fraction(key: str, seed: object = 0) -> float:
    """A number in [0, 1) fixed by (seed, key): choices that do not depend on order or on the process."""
    return int.from_bytes(hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest(), "big") / 2 ** 64


GEC_TRACK_SHARE = 0.3  # of the GEC data's documents: the grammar track's corrections, never trained on


def gec_for_the_track(document_id) -> bool:
    """Whether a document of the expert GEC data (polish_gec_ermlab) is kept for the grammar track's corrections
    (bielik.evaluation.grammar), so that neither SFT (chapter 05) nor the preference pairs (chapter 06) train on
    it. A fixed hash of the document, salted apart from every other split, the same at every seed."""
    return stable_fraction(f"gec-track/{document_id}") < GEC_TRACK_SHARE


def split_of(group: str, seed: int = 0, test: float = 0.15, val: float = 0.15) -> str:
    """train / val / test by a stable hash of the group: every chunk of one book lands in the same split."""
    h = stable_fraction(group, seed)
    return "test" if h < test else "val" if h < test + val else "train"
