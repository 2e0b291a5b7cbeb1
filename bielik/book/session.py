"""What a chapter's second cell calls: `ch = bielik.start("04", globals())`.

It checks the scale and the overrides, switches the hub off at the offline scales, seeds the random
generators, and hands back the chapter's folders, parameters and a way to record figures.
"""
from __future__ import annotations

import os
import random
import sys
import types
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from bielik.book import figures
from bielik.book.artifacts import MissingArtifact
from bielik.book.chapters import Chapter, get_chapter
from bielik.book.paths import repo_root, runs_dir
from bielik.book.scales import DEFAULT_SCALE, Scale, ScaleError, get_scale, parameter_names, resolve

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


@dataclass
class Session:
    chapter: Chapter
    scale: Scale
    params: SimpleNamespace
    run: Path  # runs/<scale>: every chapter's folder and the metrics
    seed: int
    precision: dict | None = None  # how bf16 "auto" was decided on this machine (bielik.training.precision)

    @property
    def dir(self) -> Path:
        """This chapter's own artifact folder, runs/<scale>/<chapter id>/."""
        d = self.run / self.chapter.id
        d.mkdir(parents=True, exist_ok=True)
        return d

    def record(self, name: str, value, unit: str = "", note: str = "") -> None:
        """Record a headline figure in runs/<scale>/metrics/<chapter>.json."""
        figures.record(self.run, self.chapter.id, name, value, unit, note)

    def require(self, chapter: str, relpath: str) -> Path:
        """An artifact of an earlier chapter; if missing, an error naming the chapter to run first."""
        src = get_chapter(chapter)
        path = self.run / src.id / relpath
        if not path.exists():
            raise MissingArtifact(
                f"chapter {self.chapter.number} ({self.chapter.title}) needs {path}, which chapter "
                f"{src.number} ({src.title}) writes. Run it first: "
                f"bielik run --scale {self.scale.name} --only {src.number}")
        return path

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={v!r}" for k, v in vars(self.params).items())
        try:  # the published page shows runs/<scale>, not the path of the machine that ran it
            run = self.run.relative_to(repo_root())
        except ValueError:
            run = self.run
        text = (f"chapter {self.chapter.id} at scale {self.scale.name!r}, seed {self.seed}\n"
                f"  run folder: {run}\n  parameters: {ps}")
        if self.precision:
            text += (f"\n  bf16: auto -> {self.precision['bf16']} ({self.precision['why']}, "
                     f"{'measured earlier in this run folder' if self.precision['reused'] else 'measured now'})")
        return text


def start(chapter: str, namespace: dict | None = None, *, scale: str | None = None, run_dir: str | None = None,
          seed: int | None = None, **overrides) -> Session:
    """Begin a chapter. A notebook passes its own namespace, `bielik.start("04", globals())`: the scale, run
    folder, seed and the chapter's own parameters are read from the names its parameters cell set (None = the
    preset). Keywords do the same from Python code and win over the namespace. The scale is `scale`, else
    $BIELIK_SCALE (which the Colab setup cell sets), else tiny."""
    ch = get_chapter(chapter)
    if namespace is not None:
        scale = scale if scale is not None else namespace.get("scale")
        run_dir = run_dir if run_dir is not None else namespace.get("run_dir")
        seed = seed if seed is not None else namespace.get("seed")
        for name in parameter_names(ch.id):
            if name in namespace and name not in overrides:
                if isinstance(namespace[name], (types.ModuleType, types.FunctionType, type)):
                    raise ScaleError(f"chapter {ch.number}'s parameter {name!r} is bound to "
                                     f"{namespace[name]!r} in the notebook: an import reused the name; "
                                     f"import it under another name and run the parameters cell again")
                overrides[name] = namespace[name]
    sc = get_scale(scale or os.environ.get("BIELIK_SCALE") or DEFAULT_SCALE)
    params = resolve(ch.id, sc.name, overrides)
    seed = 0 if seed is None else int(seed)
    if sc.offline:
        go_offline()
    quiet_progress_bars()
    readable_tables()
    seed_everything(seed)
    run = runs_dir(sc.name, run_dir)
    run.mkdir(parents=True, exist_ok=True)
    precision = None
    if params.get("bf16") == "auto":  # measured once per machine, kept in the run folder (a second or two)
        from bielik.training.precision import measured

        precision = measured(run)
        params["bf16"] = precision["bf16"]
    return Session(ch, sc, SimpleNamespace(**params), run, seed, precision)


def go_offline() -> None:
    """Switch the Hugging Face hub off, also for libraries that were imported already."""
    os.environ.update(OFFLINE_ENV)
    if "huggingface_hub" in sys.modules:  # it reads the variable once, at import
        import huggingface_hub.constants as c
        c.HF_HUB_OFFLINE = True


def quiet_progress_bars() -> None:
    """No tqdm bars in executed chapters: they would fill the book's pages with carriage-return noise."""
    os.environ["HF_DATASETS_DISABLE_PROGRESS_BARS"] = "1"
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"  # transformers' loading and saving bars follow this
    os.environ["TQDM_DISABLE"] = "1"  # lm-eval's bars; tqdm reads it when first imported, after start()
    warnings.filterwarnings("ignore", message="IProgress not found")
    if "datasets" in sys.modules:
        sys.modules["datasets"].disable_progress_bars()
    if "transformers" in sys.modules:
        sys.modules["transformers"].utils.logging.disable_progress_bar()


def readable_tables() -> None:
    """pandas shows text columns whole: a cut rule or reason ("...") is a sentence the reader cannot finish."""
    try:
        import pandas as pd
    except ImportError:
        return
    pd.set_option("display.max_colwidth", None)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    try:
        import numpy as np
        np.random.seed(seed)
    except ImportError:
        pass
    try:
        import torch
        torch.manual_seed(seed)
    except ImportError:
        pass
