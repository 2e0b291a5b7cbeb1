"""The one way the package runs work in a child Python process.

Three jobs need one: a mergekit merge (so its peak memory is its own and measurable), llama.cpp's quantizer and
llama.cpp's forward passes (llama.cpp can abort the whole process on a damaged file or an unknown token). The
parent sends a JSON job on stdin to `python -m bielik.book.child_process module:function`; the child calls the
function with it and prints its JSON result as the last line of stdout, after whatever the libraries print.
"""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys


def run(target: str, job: dict, *, what: str, error: type[Exception] = RuntimeError,
        env: dict | None = None) -> dict:
    """Call `target` ("bielik.deploy.gguf_files:quantize_job") with `job` in a fresh Python process and return its
    result. A child that fails raises `error`: "`what` failed (exit N)", then the end of the child's stderr."""
    proc = subprocess.run([sys.executable, "-m", "bielik.book.child_process", target], input=json.dumps(job),
                          capture_output=True, text=True, env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        raise error(f"{what} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    lines = proc.stdout.strip().splitlines()
    if not lines:
        raise error(f"{what} failed: the child process printed no result\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def _main(target: str) -> None:
    module, _, name = target.partition(":")
    result = getattr(importlib.import_module(module), name)(json.loads(sys.stdin.read()))
    print(json.dumps(result if result is not None else {}, default=float))


if __name__ == "__main__":
    if len(sys.argv) != 2 or ":" not in sys.argv[1]:
        sys.exit("usage: python -m bielik.book.child_process module:function  (the job as JSON on stdin)")
    _main(sys.argv[1])
