#!/usr/bin/env bash
# The README's two commands, on a fresh machine with Python 3.11+ and pip:
#   bash run.sh book   executes every chapter at the default `tiny` scale and builds the HTML book
#   bash run.sh test   runs the test suite (unit tests, every chapter at `ci`, the book in a real browser)
#   bash run.sh test --fast   only the tests that neither train, execute a chapter nor build the book
# Both first make .venv and install the package with its pinned dependencies (pyproject.toml).
# Extra arguments go to `bielik book` or to pytest.
set -euo pipefail
cd "$(dirname "$0")"

what=${1:-}
[ $# -gt 0 ] && shift
case "$what" in book|test) ;; *) echo "usage: bash run.sh book|test [args]" >&2; exit 2;; esac

py=${PYTHON:-}
if [ -z "$py" ]; then
  for c in python3.11 python3.12 python3.13 python3; do
    if command -v "$c" >/dev/null && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then py=$c; break; fi
  done
fi
[ -n "$py" ] || { echo "run.sh: needs Python 3.11 or newer (set PYTHON=...)" >&2; exit 2; }

# Install once, and again whenever pyproject.toml changes.
if [ ! -x .venv/bin/python ]; then "$py" -m venv .venv; fi
if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
  # torch first and exactly: a CPU machine must not resolve a newer CUDA build.
  echo "run.sh: installing the package and its pinned dependencies into .venv (log: .venv/install.log)"
  # the quantization extra builds llama.cpp from source the first time (about 15 min on 2 cores; pip caches the wheel)
  { .venv/bin/pip install --disable-pip-version-check "torch==2.13.0" &&
    CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) .venv/bin/pip install --disable-pip-version-check -e ".[test,quantization]" &&
    .venv/bin/bielik install-converter; } > .venv/install.log 2>&1 ||
    { tail -n 30 .venv/install.log >&2; echo "run.sh: pip install failed, see .venv/install.log" >&2; exit 1; }
  touch .venv/.installed
fi

if [ "$what" = book ]; then
  exec .venv/bin/bielik book "$@"
fi

if [ "${1:-}" = --fast ]; then
  shift
  exec .venv/bin/python -m pytest -m "not slow" "$@"
fi

# The browser test needs Chromium and its driver (Debian's packages).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "run.sh: the browser test needs chromium and chromedriver (Debian: apt-get install chromium chromium-driver)" >&2
    exit 2
  fi
fi
exec .venv/bin/python -m pytest "$@"
