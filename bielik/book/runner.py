"""Execute chapters with papermill, in order, into book/chapters/.

While a chapter runs, its section and training step (bielik.book.progress); then its wall time. A failing chapter stops the run with the chapter's
name, the failing cell and the error, and its executed notebook stays where it was written.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import yaml

from bielik.book import figures, progress, provenance
from bielik.book.artifacts import read_json
from bielik.book.chapters import Chapter, available, get_chapter
from bielik.book.paths import repo_root, runs_dir
from bielik.book.scales import SMOKE_ENV, ScaleError, get_scale
from bielik.book.scales import smoke as scale_smoke
from bielik.book.session import OFFLINE_ENV


class ChapterFailed(RuntimeError):
    def __init__(self, chapter: Chapter, message: str, output: Path):
        super().__init__(f"chapter {chapter.number} ({chapter.title}) failed: {message}\n"
                         f"The executed notebook is kept for inspection: {output}")
        self.chapter, self.output = chapter, output


@dataclass
class Result:
    chapter: Chapter
    output: Path
    seconds: float


def parse_value(text: str) -> object:
    """A `-p name value` value as papermill would type it: 3 -> int, 0.9 -> float, true -> bool, None -> None."""
    if text in ("None", "none", "null"):
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


PARAMETER_TAGS = ("parameters", "injected-parameters")


def hide_parameter_cells(notebook: Path) -> None:
    """Tag the parameters cell and papermill's injected one `remove-cell`: the published page leaves them out,
    since the note under every chapter lists the parameters it ran with."""
    from bielik.book.artifacts import write_notebook

    nb = read_json(notebook)
    for cell in nb["cells"]:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if any(t in tags for t in PARAMETER_TAGS) and "remove-cell" not in tags:
            tags.append("remove-cell")
    write_notebook(notebook, nb)


def notebook_parameters(path: Path) -> set[str]:
    """The names assigned in the notebook's cell tagged `parameters`."""
    import papermill
    return set(papermill.inspect_notebook(str(path)))


def select(chapters: list[Chapter], only: list[str] | None = None,
           start_from: str | None = None) -> list[Chapter]:
    if only:
        wanted = {get_chapter(k).id for k in only}
        missing = wanted - {c.id for c in chapters}
        if missing:
            raise ScaleError(f"no source notebook for chapter(s) {', '.join(sorted(missing))} in notebooks/")
        return [c for c in chapters if c.id in wanted]
    if start_from:
        first = get_chapter(start_from)
        return [c for c in chapters if c.number >= first.number]
    return chapters


def assign_parameters(chapters: list[Chapter], params: dict[str, object],
                      notebooks_dir: Path) -> dict[str, dict[str, object]]:
    """Give each chapter the overrides it declares; a name no selected chapter declares is an error."""
    declared = {c.id: notebook_parameters(c.source(notebooks_dir)) for c in chapters}
    for name in params:
        if not any(name in names for names in declared.values()):
            listing = "; ".join(f"{cid}: {', '.join(sorted(n))}" for cid, n in declared.items())
            raise ScaleError(f"unknown parameter {name!r}: no selected chapter has it ({listing})")
    return {cid: {k: v for k, v in params.items() if k in names} for cid, names in declared.items()}


def seed_from(base: Path, run: Path, rerun: list[Chapter]) -> list[str]:
    """Give a new run folder the other chapters' results of `base`. Hard links cost no disk, and the base run
    cannot change through them: the rerun chapters write their own folders, and every artifact write replaces a
    file by a rename (bielik.book.artifacts), never in place. Returns the chapters taken."""
    base, run = Path(base).resolve(), Path(run).resolve()
    if base == run:
        raise ScaleError(f"--base-run and --run-dir are the same folder ({run}): the rerun would overwrite it")
    if not (base / "metrics").is_dir():
        raise ScaleError(f"--base-run {base} holds no finished chapters (no metrics/ folder): run them there first")
    skip = {c.id for c in rerun}
    taken = []
    for metrics_file in sorted((base / "metrics").glob("*.json")):
        cid = metrics_file.stem
        if cid in skip or (run / "metrics" / metrics_file.name).exists():
            continue
        (run / "metrics").mkdir(parents=True, exist_ok=True)
        shutil.copy2(metrics_file, run / "metrics" / metrics_file.name)
        if (base / cid).is_dir():
            shutil.copytree(base / cid, run / cid, copy_function=_link_or_copy, dirs_exist_ok=True)
        taken.append(cid)
    return taken


def _link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(src, dst)


def run_chapters(scale: str = "tiny", only: list[str] | None = None, start_from: str | None = None,
                 params: dict[str, object] | None = None, out_dir: Path | None = None,
                 run_dir: Path | None = None, notebooks_dir: Path | None = None,
                 stream: TextIO | None = None, base_run: Path | None = None, smoke: bool = False) -> list[Result]:
    """Execute the selected chapters at `scale`; raise ChapterFailed at the first failure.

    The executed notebooks go to `out_dir`: by default book/chapters/, or <run_dir>/chapters/ for a run folder of
    its own (an exercise must not overwrite the book's chapters). `base_run` seeds a new `run_dir` with the other
    chapters' results (see seed_from). `smoke` caps every chapter's step, document and evaluation counts at their
    ci values (scales.smoke) and nothing else; a parameter given in `params` wins."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    stream = stream or sys.stdout
    sc = get_scale(scale)
    notebooks_dir = Path(notebooks_dir or repo_root() / "notebooks")
    chapters = select(available(notebooks_dir), only, start_from)
    per_chapter = assign_parameters(chapters, params or {}, notebooks_dir)
    run = runs_dir(sc.name, run_dir)
    out_dir = Path(out_dir or (run / "chapters" if run_dir else repo_root() / "book" / "chapters"))
    out_dir.mkdir(parents=True, exist_ok=True)
    if base_run:
        if not run_dir:
            raise ScaleError("--base-run needs a --run-dir of its own for the rerun")
        taken = seed_from(base_run, run, chapters)
        if taken:
            print(f"from {base_run}: {', '.join(taken)}", file=stream)

    # The kernel inherits this environment: the hub is off before any library is imported.
    os.environ.setdefault("BIELIK_HOME", str(repo_root()))
    if sc.offline:
        os.environ.update(OFFLINE_ENV)
    if smoke:  # the kernels inherit it: the evaluation's yardsticks are capped too
        os.environ[SMOKE_ENV] = "1"
        per_chapter = {cid: {**scale_smoke(cid, sc.name), **given} for cid, given in per_chapter.items()}

    results = []
    scratch = tempfile.mkdtemp(prefix="bielik-progress-")
    try:
        for ch in chapters:
            output = out_dir / f"{ch.id}.ipynb"
            parameters = {"scale": sc.name, **per_chapter[ch.id]}
            if run_dir:
                parameters["run_dir"] = str(run)
            source = ch.source(notebooks_dir)
            shown = progress.Display(f"[{ch.number}] {ch.title:<24}", stream, Path(scratch) / f"{ch.id}.jsonl",
                                     progress.sections(read_json(source)))
            os.environ[progress.ENV] = str(shown.file)  # the kernel inherits it: training cells report steps
            t0 = time.perf_counter()
            try:
                papermill.execute_notebook(str(source), str(output), parameters=parameters,
                                           kernel_name="python3", progress_bar=False, cwd=str(repo_root()),
                                           on_cell_start=shown.on_cell_start,
                                           # the kernel's start-up warning about TCP would break the progress line
                                           extra_arguments=["--IPKernelApp.log_level=ERROR"])
            except PapermillExecutionError as e:
                shown.close(f"FAILED after {time.perf_counter() - t0:.1f} s")
                first_line = ((e.source or "").strip().splitlines() or [""])[0]
                raise ChapterFailed(ch, f"the cell [{e.exec_count}] that starts `{first_line[:80]}` raised "
                                        f"{e.ename}: {e.evalue}", output) from None
            except Exception as e:  # a dead kernel, a timeout, an unreadable notebook
                shown.close(f"FAILED after {time.perf_counter() - t0:.1f} s")
                raise ChapterFailed(ch, f"{type(e).__name__}: {e}", output) from None
            except BaseException:  # Ctrl-C: end the progress line before the traceback
                shown.close(f"stopped after {time.perf_counter() - t0:.1f} s")
                raise
            finally:
                os.environ.pop(progress.ENV, None)
            dt = time.perf_counter() - t0
            hide_parameter_cells(output)
            provenance.stamp(output, sc.name, repo_root())
            figures.record(run, ch.id, "wall_time", round(dt, 1), "s", note=f"papermill at scale {sc.name}")
            shown.close(f"ok {dt:7.1f} s   -> {output}")
            results.append(Result(ch, output, dt))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if smoke:
            os.environ.pop(SMOKE_ENV, None)
    return results
