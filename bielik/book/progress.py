"""Where a running chapter is, shown by `bielik run` while papermill executes it: its current section and, in
training cells, step n of N with tokens/s and the time left.

The kernel cannot print to the runner's terminal (its output goes into the executed page), so it appends JSON
lines to the file named by $BIELIK_PROGRESS, which the runner sets for each chapter and reads while the chapter
runs. Outside `bielik run` (Jupyter, plain papermill, tests) there is no such file and nothing is written: the
page never gets progress bars. The runner shows one line that it rewrites in a terminal, and plain lines, a few
per chapter, in a log.
"""
from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path
from typing import TextIO

ENV = "BIELIK_PROGRESS"


# --- the kernel's side ---------------------------------------------------------------------------------------

def report(**fields) -> None:
    """Tell the runner where the chapter is (done=, total=, unit=, rate=, left_s=); no-op outside `bielik run`."""
    path = os.environ.get(ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as f:  # one short line per write: the reader never sees half a line
        f.write(json.dumps({"time": time.time(), **fields}) + "\n")


def training_callback(tokens_per_step: int | None = None, every_s: float = 1.0):
    """A TrainerCallback that reports step n of N, tokens/s (steps/s without `tokens_per_step`) and the time
    left, at most once every `every_s` seconds and at the last step. Rates count only this session's steps, so
    a resumed run's estimate is not flattered by the steps it skipped."""
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def on_train_begin(self, args, state, control, **kw):
            # -inf, not 0: perf_counter counts from an arbitrary point (on some machines, the boot)
            self.t0, self.step0, self.last = time.perf_counter(), state.global_step, float("-inf")

        def on_step_end(self, args, state, control, **kw):
            now = time.perf_counter()
            if now - self.last < every_s and state.global_step < state.max_steps:
                return
            self.last = now
            steps_per_s = (state.global_step - self.step0) / max(now - self.t0, 1e-9)
            rate = (f"{steps_per_s * tokens_per_step:,.0f} tok/s" if tokens_per_step
                    else f"{steps_per_s:.2f} steps/s")
            left = (state.max_steps - state.global_step) / steps_per_s if steps_per_s else None
            report(done=state.global_step, total=state.max_steps, unit="step", rate=rate, left_s=left)

    return Progress()


# --- the runner's side ---------------------------------------------------------------------------------------

def sections(notebook) -> dict[str, str]:
    """Cell id -> the heading of the section it sits in (the last markdown heading above it)."""
    found, current = {}, ""
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])  # .ipynb lines
            heading = next((line.lstrip("#").strip() for line in source.splitlines()
                            if line.startswith("#")), None)
            current = heading or current
        found[cell.get("id", "")] = current
    return found


def clock(seconds: float) -> str:
    """12:05 or 1:02:05."""
    s = round(seconds)
    h, m = divmod(s // 60, 60)
    return f"{h}:{m:02d}:{s % 60:02d}" if h else f"{m}:{s % 60:02d}"


def describe(fields: dict) -> str:
    """'step 120/400 · 2,610 tok/s · 1:20 left' from a report()."""
    parts = [f"{fields.get('unit', 'item')} {fields['done']}/{fields['total']}"] if "done" in fields else []
    if fields.get("rate"):
        parts.append(fields["rate"])
    if fields.get("left_s") is not None:
        parts.append(f"{clock(fields['left_s'])} left")
    return " · ".join(parts)


class Display:
    """What `bielik run` prints while one chapter runs. In a terminal: one line, rewritten every second, with
    the time so far, the section and the training step. In a log: a line when the section changes, and a
    training line at every tenth of the steps."""

    def __init__(self, label: str, stream: TextIO, file: Path, section_of: dict[str, str], poll_s: float = 0.5):
        self.label, self.stream, self.file, self.section_of = label, stream, Path(file), section_of
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.section, self.detail, self.offset, self.shown_tenth, self.last_done = "", "", 0, -1, 0
        self.t0 = time.perf_counter()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, args=(poll_s,), daemon=True)
        self.file.write_text("")
        print(self.label if self.tty else self.label.rstrip(), end="" if self.tty else "\n", file=stream, flush=True)
        self._thread.start()

    def on_cell_start(self, cell, cell_index: int, **kw) -> None:
        """nbclient's hook, called before each cell runs."""
        section = self.section_of.get(cell.get("id", ""), self.section)
        if section and section != self.section:
            with self._lock:
                self._read()  # the last cell's reports belong before the new section
                self.section, self.detail = section, ""
                if not self.tty:
                    self._log(f"§ {section}")

    def _read(self) -> None:
        try:
            with open(self.file, encoding="utf-8") as f:
                f.seek(self.offset)
                lines = f.readlines()
        except OSError:
            return
        for line in lines:
            if not line.endswith("\n"):  # still being written: read it next time
                break
            self.offset += len(line.encode("utf-8"))
            try:
                fields = json.loads(line)
            except json.JSONDecodeError:
                continue
            self.detail = describe(fields)
            if not self.tty and "done" in fields and fields.get("total"):
                if fields["done"] < self.last_done:  # the next training run of the same cell
                    self.shown_tenth = -1
                self.last_done = fields["done"]
                tenth = int(10 * fields["done"] / fields["total"])
                if tenth > self.shown_tenth:
                    self.shown_tenth = tenth
                    self._log(f"  {self.detail}")

    def _log(self, text: str) -> None:
        print(f"{self.label.split()[0]}   {clock(time.perf_counter() - self.t0):>7}  {text}",
              file=self.stream, flush=True)

    def _line(self) -> str:
        text = f"{self.label} {clock(time.perf_counter() - self.t0):>7}  {self.section}"
        if self.detail:
            text += f" · {self.detail}"
        width = shutil.get_terminal_size((120, 24)).columns - 1
        return text[:width]

    def _loop(self, poll_s: float) -> None:
        while not self._stop.wait(poll_s):
            with self._lock:
                self._read()
                if self.tty:
                    self.stream.write("\r" + self._line() + "\x1b[K")
                    self.stream.flush()

    def close(self, result: str) -> None:
        """Stop reading and print the chapter's last line (`ok 12.3 s -> ...` or `FAILED after ...`)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()
        with self._lock:
            self._read()
            if self.tty:
                self.stream.write("\r" + self.label + " " + result + "\x1b[K\n")
            else:
                print(f"{self.label} {result}", file=self.stream)
            self.stream.flush()
        self.file.unlink(missing_ok=True)
