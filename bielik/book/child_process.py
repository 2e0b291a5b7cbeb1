"""The one way the package runs work in a child Python process.

Three jobs need one: a mergekit merge (so its peak memory is its own and measurable), llama.cpp's quantizer and
llama.cpp's forward passes (llama.cpp can abort the whole process on a damaged file or an unknown token). The
parent sends a JSON job on stdin to `python -m bielik.book.child_process module:function`; the child calls the
function with it and prints its JSON result as the last line of stdout, after whatever the libraries print.
A child that fails says why in one line, the last of its stderr; the parent's error is that line after what
failed, and carries the child's whole stderr as `.stderr` for whoever needs the traceback.
"""
from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import traceback


def run(target: str, job: dict, *, what: str, error: type[Exception] = RuntimeError,
        env: dict | None = None) -> dict:
    """Call `target` ("bielik.deploy.gguf_files:quantize_job") with `job` in a fresh Python process and return its
    result. A child that fails raises `error("<what> failed (<exit>): <the child's last line>")`."""
    proc = subprocess.run([sys.executable, "-m", "bielik.book.child_process", target], input=json.dumps(job),
                          capture_output=True, text=True, env={**os.environ, **(env or {})})
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        reason = last_line(proc.stderr) if proc.returncode else "the child process printed no result"
        e = error(f"{what} failed ({exit_status(proc.returncode)}): {reason}")
        e.stderr = proc.stderr
        raise e
    return json.loads(lines[-1])


def exit_status(code: int) -> str:
    """"exit 1", or the signal that ended the process ("killed by SIGABRT": llama.cpp's abort)."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


def last_line(stderr: str) -> str:
    """The last non-empty line of a child's stderr: its own one-line reason, or the last thing a library said."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else "it wrote nothing to stderr"


def _main(target: str) -> None:
    module, _, name = target.partition(":")
    try:
        result = getattr(importlib.import_module(module), name)(json.loads(sys.stdin.read()))
    except Exception as e:  # the traceback for whoever reads .stderr, then the one line the parent shows
        traceback.print_exc()
        print(f"{type(e).__name__}: {e}".splitlines()[0], file=sys.stderr)
        sys.exit(1)
    print(json.dumps(result if result is not None else {}, default=float))


if __name__ == "__main__":
    if len(sys.argv) != 2 or ":" not in sys.argv[1]:
        sys.exit("usage: python -m bielik.book.child_process module:function  (the job as JSON on stdin)")
    _main(sys.argv[1])
