"""The book's Sphinx extension (`_config.yml`: sphinx.extra_extensions).

- Under every chapter: how that page was executed (scale, the parameters papermill was given, the package
  version and commit, the machine and the time), from the notebook's metadata (bielik.provenance).
- The course guide's `{chapter-timings}` directive: each chapter's time at the 2-core reference run
  (book/timings.json, written by `bielik timings --save`) beside this build's own.
- Launch buttons open the chapter's source notebook, notebooks/NN_name.ipynb, which the repository holds (the
  executed copies in book/chapters/ are not committed), and point at the repository and ref the book was built
  from on GitHub Actions, so a fork's site launches the fork.
- MathJax comes with the book (from the django-static-mathjax package, copied into _build/html/mathjax/), so a
  book opened from disk renders its formulas without a network.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

from bielik.book import provenance
from bielik.book.artifacts import read_json

CHAPTERS = "book/chapters/"
REFERENCE_TIMINGS = "book/timings.json"


def hosting_repository(environ=os.environ) -> tuple[str | None, str | None]:
    """(repository URL, ref) of the GitHub Actions run building the book, or of BIELIK_REPOSITORY(_REF)."""
    url = ref = None
    if environ.get("GITHUB_ACTIONS") == "true" and environ.get("GITHUB_REPOSITORY"):
        url = f"{environ.get('GITHUB_SERVER_URL', 'https://github.com')}/{environ['GITHUB_REPOSITORY']}"
        ref = environ.get("GITHUB_REF_NAME") or None
    return environ.get("BIELIK_REPOSITORY", url), environ.get("BIELIK_REPOSITORY_REF", ref)


def configure(app, config) -> None:
    """The stylesheet for solutions and the run note; the repository and ref of a GitHub Actions build."""
    config.html_static_path.append(str(Path(__file__).parent / "static"))
    url, ref = hosting_repository()
    if url:
        config.html_theme_options["repository_url"] = url
    if ref:
        config.html_theme_options["repository_branch"] = ref


MATHJAX = "mathjax"  # the folder of the built site that holds MathJax's es5/ build


def mathjax_files() -> Path:
    """MathJax 3's es5/ build from the installed django-static-mathjax package (a registry package, so the book
    needs no CDN and no download at build time)."""
    from importlib.util import find_spec

    spec = find_spec("mathjax")
    es5 = Path(spec.origin).parent / "static" / "mathjax" / "es5" if spec and spec.origin else None
    if es5 is None or not (es5 / "tex-mml-chtml.js").exists():
        from sphinx.errors import ExtensionError

        raise ExtensionError("MathJax's files are missing: pip install django-static-mathjax (a dependency of the "
                             "book in pyproject.toml), or rerun `bash run.sh book`")
    return es5


def offline_mathjax(app, config) -> None:
    """Pages load MathJax from the built site itself, so formulas render in a book opened from disk offline."""
    mathjax_files()  # fail at the start of the build, not after it
    config.mathjax_path = f"../{MATHJAX}/tex-mml-chtml.js"  # Sphinx takes it relative to _static/


def copy_mathjax(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        shutil.copytree(mathjax_files(), Path(app.outdir) / MATHJAX, dirs_exist_ok=True)


def launch_source_notebooks(app, pagename, templatename, context, doctree) -> None:
    """Rewrite the launch links of a chapter from book/chapters/X.ipynb to notebooks/X.ipynb."""
    if not pagename.startswith(CHAPTERS):
        return
    executed = f"{pagename}.ipynb"
    source = f"notebooks/{pagename[len(CHAPTERS):]}.ipynb"
    for group in context.get("header_buttons", []):
        if group.get("label") == "launch-buttons":
            for button in group.get("buttons", []):
                if "url" in button:
                    button["url"] = button["url"].replace(executed, source)


def _parameters_text(run: dict) -> str:
    if not run["parameters"]:
        return f"the `{run['scale']}` preset of bielik/book/scales.py, unchanged"
    changed = ", ".join(f"{k}={v!r}" for k, v in sorted(run["parameters"].items()))
    return f"the `{run['scale']}` preset of bielik/book/scales.py, with {changed}"


def footer_lines(run: dict) -> list[str]:
    """The lines under a chapter: scale and parameters, package, machine and time."""
    version = f"bielik {run['version']}" if run["version"] else "an unrecorded bielik version (plain papermill)"
    if run["commit"]:
        version += f", commit {run['commit']}"
    when = f"{run['seconds']:.0f} s" if run["seconds"] is not None else "an unrecorded time"
    if run["started"]:
        when += f", started {run['started'][:16].replace('T', ' ')} UTC"
    return [f"Scale `{run['scale']}`; parameters: {_parameters_text(run)}.",
            f"Package: {version}.",
            f"Executed by papermill in {when}, on {provenance.describe_machine(run['machine'])}."]


def add_run_footer(app, doctree) -> None:
    docname = app.env.docname
    if not docname.startswith(CHAPTERS):
        return
    run = provenance.read(app.env.doc2path(docname))
    box = nodes.admonition(classes=["bielik-run", "note"])
    box += nodes.title(text="How this page was executed")
    items = nodes.bullet_list()
    for line in footer_lines(run):
        para = nodes.paragraph()
        for i, part in enumerate(line.split("`")):  # `x` becomes code, as in the notebooks' prose
            para += nodes.literal(text=part) if i % 2 else nodes.Text(part)
        items += nodes.list_item("", para)
    box += items
    doctree += box


def timings_rows(root: Path) -> tuple[list[dict], dict]:
    """One row per executed chapter: id, this build's scale and seconds, and the reference run's seconds."""
    ref_path = root / REFERENCE_TIMINGS
    reference = read_json(ref_path) if ref_path.exists() else {}
    ref_seconds = {r["chapter"]: r["seconds"] for r in reference.get("chapters", [])}
    rows = []
    for nb in sorted((root / CHAPTERS).glob("*.ipynb")):
        run = provenance.read(nb)
        rows.append({"chapter": nb.stem, "reference": ref_seconds.get(nb.stem), "scale": run["scale"],
                     "seconds": run["seconds"], "machine": run["machine"]})
    return rows, reference


def _minutes(seconds) -> str:
    return "–" if seconds is None else f"{seconds / 60:.1f}"


class ChapterTimings(SphinxDirective):
    """A table of each chapter's execution time, as measured (nothing typed in)."""

    def run(self):
        root = Path(self.env.srcdir)
        rows, reference = timings_rows(root)
        for nb in (root / CHAPTERS).glob("*.ipynb"):
            self.env.note_dependency(str(nb))
        ref_scale = reference.get("scale", "tiny")
        ref_machine = provenance.describe_machine(reference.get("machine"))
        this_machine = provenance.describe_machine(rows[0]["machine"]) if rows else "–"
        scales = sorted({r["scale"] for r in rows if r["scale"]})
        lines = [f"| chapter | minutes at `{ref_scale}`, reference run | minutes in this build "
                 f"({', '.join(f'`{s}`' for s in scales) or '–'}) |", "|---|---:|---:|"]
        for r in rows:
            lines.append(f"| {r['chapter']} | {_minutes(r['reference'])} | {_minutes(r['seconds'])} |")
        total_ref = sum(r["reference"] or 0 for r in rows)
        total = sum(r["seconds"] or 0 for r in rows)
        lines.append(f"| **all** | **{_minutes(total_ref)}** | **{_minutes(total)}** |")
        lines += ["", f"The reference run: {ref_machine}, bielik {reference.get('version', '–')}, "
                      f"measured {str(reference.get('measured', '–'))[:10]} "
                      f"({REFERENCE_TIMINGS}, written by `bielik timings --save`). "
                      f"This build: {this_machine}."]
        return self.parse_text_to_nodes("\n".join(lines))


def setup(app):
    app.connect("config-inited", configure)
    app.connect("config-inited", offline_mathjax)
    app.connect("build-finished", copy_mathjax)
    app.add_css_file("bielik.css")
    app.connect("doctree-read", add_run_footer)
    # after sphinx-book-theme has made its launch buttons (priority 501)
    app.connect("html-page-context", launch_source_notebooks, priority=502)
    app.add_directive("chapter-timings", ChapterTimings)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
