"""Exercises that do what they say: the solutions' code that needs no executed chapter runs here, and returns
what its solution describes."""
import re

import pytest

from bielik.book.paths import repo_root

SOLUTION_CODE = re.compile(r"<details class=\"solution\">.*?```python\n(.*?)```.*?</details>", re.DOTALL)


def solution_blocks() -> list[tuple[str, str]]:
    found = []
    for md in sorted((repo_root() / "notebooks").glob("*.md")):
        for code in SOLUTION_CODE.findall(md.read_text()):
            found.append((md.stem, code))
    return found


def self_contained(code: str) -> bool:
    """Code that imports what it uses, rather than reading a chapter's namespace (ch, P, the chapter's frames)."""
    return code.lstrip().startswith(("import", "from")) and not re.search(r"\b(ch|P)\.", code)


def test_the_solutions_have_code_to_check():
    assert sum(self_contained(c) for _, c in solution_blocks()) >= 3


@pytest.mark.parametrize("chapter, code", [b for b in solution_blocks() if self_contained(b[1])],
                         ids=lambda x: x if isinstance(x, str) and len(x) < 20 else "")
def test_a_solution_runs(chapter, code):
    namespace: dict = {}
    exec(compile(code, f"{chapter} solution", "exec"), namespace)  # noqa: S102 - the book's own code


def test_chapter_00_solution_3_names_a_step_for_every_benchmark():
    import pandas as pd

    from bielik.report import paper

    [code] = [c for ch, c in solution_blocks() if ch == "00_overview" and "HEADLINES" in c]
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102
    steps = namespace["steps"]
    assert list(steps.index) == [f"{v}: {paper.TRAINING_STAGES[v]}" for v in paper.VERSIONS[1:]]  # v2.0 kept
    best = steps.idxmax()
    assert best.notna().all() and best["Open PL LLM, 5-shot (T7/8)"] == "v2.0: SFT"
    assert isinstance(best, pd.Series) and len(best) == len(paper.HEADLINES)
