import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMINGS: dict[str, float] = {}  # figures the slow tests measured, printed at the end of the run

# The tests never touch the hub.
os.environ.update({"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                   "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"})


@pytest.fixture
def run(tmp_path):
    """An empty run folder (runs/<scale>) for one test."""
    d = tmp_path / "runs" / "ci"
    d.mkdir(parents=True)
    return d


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.section("measured")
        for name, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{name}: {seconds:.1f} s")
