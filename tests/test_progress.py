"""What `bielik run` shows while a chapter runs: the kernel's reports, the section of each cell, and the line
in a terminal or the lines in a log."""
import io
import json
import time
from types import SimpleNamespace

import nbformat

from bielik.book import progress


def test_clock_and_describe():
    assert progress.clock(5) == "0:05" and progress.clock(125) == "2:05" and progress.clock(3725) == "1:02:05"
    assert progress.describe({"done": 120, "total": 400, "unit": "step", "rate": "2,610 tok/s", "left_s": 80}) \
        == "step 120/400 · 2,610 tok/s · 1:20 left"
    assert progress.describe({"rate": "3 docs/s"}) == "3 docs/s"


def test_sections_follow_the_headings():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 04 · A chapter"), nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_markdown_cell("Some text, no heading"), nbformat.v4.new_code_cell("y = 2"),
                nbformat.v4.new_markdown_cell("text\n## The main run\nmore"), nbformat.v4.new_code_cell("z = 3")]
    ids = [c["id"] for c in nb.cells]
    found = progress.sections(nb)
    assert [found[i] for i in ids[1::2]] == ["04 · A chapter", "04 · A chapter", "The main run"]


def test_report_is_silent_outside_the_runner(tmp_path, monkeypatch):
    monkeypatch.delenv(progress.ENV, raising=False)
    progress.report(done=1, total=2)  # no file named: nothing happens, nothing raises
    target = tmp_path / "p.jsonl"
    monkeypatch.setenv(progress.ENV, str(target))
    progress.report(done=1, total=2, unit="step")
    [line] = target.read_text().splitlines()
    assert {k: v for k, v in json.loads(line).items() if k != "time"} == {"done": 1, "total": 2, "unit": "step"}


def test_training_callback_reports_steps_rate_and_time_left(tmp_path, monkeypatch):
    target = tmp_path / "p.jsonl"
    monkeypatch.setenv(progress.ENV, str(target))
    cb = progress.training_callback(tokens_per_step=1000, every_s=0.0)
    state = SimpleNamespace(global_step=10, max_steps=50)  # a run resumed at step 10
    cb.on_train_begin(None, state, None)
    cb.t0 -= 2.0  # as if 2 s had passed: 10 steps in 2 s = 5 steps/s = 5,000 tok/s, 30 steps left = 6 s
    state.global_step = 20
    cb.on_step_end(None, state, None)
    last = json.loads(target.read_text().splitlines()[-1])
    assert last["done"] == 20 and last["total"] == 50 and last["unit"] == "step"
    assert abs(float(last["rate"].split()[0].replace(",", "")) - 5000) < 100
    assert abs(last["left_s"] - 6.0) < 0.2


def test_training_callback_is_throttled_but_reports_the_last_step(tmp_path, monkeypatch):
    target = tmp_path / "p.jsonl"
    monkeypatch.setenv(progress.ENV, str(target))
    cb = progress.training_callback(every_s=3600)
    state = SimpleNamespace(global_step=0, max_steps=3)
    cb.on_train_begin(None, state, None)
    for step in (1, 2, 3):
        state.global_step = step
        cb.on_step_end(None, state, None)
    reports = [json.loads(x) for x in target.read_text().splitlines()]
    assert [r["done"] for r in reports] == [1, 3] and reports[0]["rate"].endswith("steps/s")


def run_display(tmp_path, stream):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## The mix"), nbformat.v4.new_code_cell("a"),
                nbformat.v4.new_markdown_cell("## The main run"), nbformat.v4.new_code_cell("b")]
    shown = progress.Display("[04] Continued pretraining", stream, tmp_path / "p.jsonl", progress.sections(nb),
                             poll_s=0.01)
    shown.on_cell_start(nb.cells[1], 1)
    with open(shown.file, "a") as f:  # a first run in "The mix", still unread when the next section starts
        f.write(json.dumps({"done": 5, "total": 5, "unit": "step"}) + "\n")
    shown.on_cell_start(nb.cells[3], 3)
    with open(shown.file, "a") as f:  # two runs in one cell: the second one's steps are shown too
        f.writelines(json.dumps({"done": step, "total": 100, "unit": "step", "rate": "9 tok/s"}) + "\n"
                     for _ in range(2) for step in range(1, 101))
    time.sleep(0.1)
    shown.close("ok     1.0 s   -> out.ipynb")
    assert not shown.file.exists()
    return stream.getvalue()


def test_log_gets_plain_lines_a_few_per_chapter(tmp_path):
    lines = run_display(tmp_path, io.StringIO()).splitlines()
    assert lines[0] == "[04] Continued pretraining" and lines[-1] == "[04] Continued pretraining ok     1.0 s   -> out.ipynb"
    assert [x.split("  ")[-1] for x in lines if "§" in x] == ["§ The mix", "§ The main run"]
    assert lines[2].endswith("step 5/5") and "§ The main run" in lines[3]  # each run's reports in their section
    steps = [x for x in lines if "/100" in x]
    assert len(steps) == 22 and steps[-1].endswith("step 100/100 · 9 tok/s")  # each run's tenths and last step
    assert "\r" not in "".join(lines)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_terminal_gets_one_rewritten_line(tmp_path):
    out = run_display(tmp_path, Terminal())
    assert out.count("\n") == 1 and out.endswith("\r[04] Continued pretraining ok     1.0 s   -> out.ipynb\x1b[K\n")
    assert "The main run · step 100/100 · 9 tok/s" in out
