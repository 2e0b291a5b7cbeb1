"""How fast is bielik.features on Polish documents? (python benchmarks/features.py [--docs N] [--rounds R] [--json F])

Builds documents of about 3,000 characters from Polish novels (paragraphs joined until the size is reached,
taken round-robin across the books), then times:
  - a plain loop of `extract()` in one process, with an empty token cache and again with a warm one;
  - `extract_dataset` with num_proc=1 and num_proc=2 (what chapter 01 calls, through filtering.featurise:
    feature_matrix in forked workers, their start and the matrices' return included);
  - the extract() loop in 1 and 2 forked processes, each over a contiguous share of the documents of about
    equal characters (features.text_shares, as feature_matrix cuts them), taken from what it inherited at the
    fork, as a datatrove task reads its own files. Four jobs:
      cold   each worker with an empty token cache, so the words the shares have in common are analysed once
             in each (a short task);
      warm   after each worker has run its share once: no word is new, the extractor without morfeusz;
      primed after each worker has run P other documents (default 4,000, the ones after the benchmark's own):
             a long task's steady state, its cache holding the common words, the rarer ones still new;
      spin   a pure-Python counting loop a third as long as the cold one, no memory to speak of: what this
             machine's two cores give to work that cannot get in each other's way.
    Each is timed inside the workers, from a common start (a barrier) to the last one's end, so process start
    is left out. One round runs every job with one process, then with two; there are R rounds (default 5), and
    the table and the ratios are their medians: on a shared virtual machine one run of the same pure-Python
    loop can take half as long again as the next.
The plain loop's first pass and the dataset runs start with an empty morfeusz token cache; the one-off start-up
(character table and morfeusz dictionary) is timed separately as the warm-up. "Per core" divides by the number
of processes.
The headline figures in the JSON (docs_per_s_per_core, mb_per_s_per_core) are the num_proc=1 dataset run.
The load average before and after is printed: other work on the machine slows every figure. CPU seconds
(this process and its finished workers) are printed too: on a busy machine documents per CPU second
compare two versions better than wall-clock rates do.
"""
from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import os
import time
from pathlib import Path

import numpy as np

DEFAULT_PATH = Path("/work/shared/data/polish_novels_100_pd")


def read_text(path: Path) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        return f.read()


def documents(folder: Path, n_docs: int, size: int = 3000) -> list[str]:
    """n_docs documents of about `size` characters, cut at paragraph (line) boundaries, round-robin over files."""
    files = sorted(p for p in folder.iterdir() if p.name.endswith((".txt", ".txt.gz")))
    if not files:
        raise SystemExit(f"no .txt or .txt.gz files in {folder}")
    per_file = []
    for path in files:
        docs, buf = [], []
        for para in read_text(path).splitlines():
            if para.strip():
                buf.append(para)
            if sum(map(len, buf)) >= size:
                docs.append("\n".join(buf))
                buf = []
        per_file.append(docs)
    out = []
    for k in range(max(map(len, per_file))):
        out += [docs[k] for docs in per_file if k < len(docs)]
        if len(out) >= n_docs:
            break
    return out[:n_docs]


def clock() -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process and of its children that have ended)."""
    t = os.times()
    return time.perf_counter(), t.user + t.system + t.children_user + t.children_system


def since(start: tuple[float, float]) -> tuple[float, float]:
    """(wall, CPU) seconds from `start`, a clock(), to now."""
    return tuple(b - a for a, b in zip(start, clock()))


def figures(name: str, spent: tuple[float, float], docs: list[str], procs: int) -> dict:
    """The rates of one run that took `spent` = (wall, CPU) seconds."""
    wall, cpu = spent
    mb = sum(len(d.encode("utf-8")) for d in docs) / 1e6
    return {"run": name, "procs": procs, "seconds": wall, "docs_per_s": len(docs) / wall,
            "mb_per_s": mb / wall, "docs_per_s_per_core": len(docs) / wall / procs,
            "mb_per_s_per_core": mb / wall / procs, "cpu_seconds": cpu, "docs_per_cpu_s": len(docs) / cpu}


_DOCS: list[str] = []  # set before the forked pool starts; its workers inherit it
_PRIME: list[str] = []  # likewise: the documents the primed job runs first
_BARRIER: list = []  # likewise: the forked runs' common start


def extract_share(share: tuple[int, int]) -> None:
    from bielik.data import features

    for d in _DOCS[share[0]:share[1]]:
        features.extract(d)


SPIN_PER_CHAR = 4  # the spin job's loop steps per character of its share: about a third of the cold job's time here


def spin(share: tuple[int, int]) -> None:
    """Count, in Python, as many steps as the share's characters times SPIN_PER_CHAR."""
    n = 0
    for _ in range(SPIN_PER_CHAR * sum(map(len, _DOCS[share[0]:share[1]]))):
        n += 1


def timed(job_share: tuple[str, tuple[int, int]]) -> tuple[float, float, float]:
    """Run a job ("cold", "warm", "primed" or "spin") on a share in a worker, from the common start of the barrier:
    (start, end, CPU seconds). perf_counter is CLOCK_MONOTONIC, one clock for every process."""
    from bielik.data import features

    job, share = job_share
    features.clear_cache()
    if job == "warm":
        extract_share(share)  # fill this worker's cache first
    elif job == "primed":
        for d in _PRIME:
            features.extract(d)
    _BARRIER[0].wait()
    t, cpu = time.perf_counter(), time.process_time()
    spin(share) if job == "spin" else extract_share(share)
    return t, time.perf_counter(), time.process_time() - cpu


def forked(job: str, docs: list[str], procs: int) -> tuple[float, float]:
    """(wall, CPU) seconds of a job over the documents in `procs` forked workers."""
    from bielik.data import features

    fork = multiprocessing.get_context("fork")  # workers inherit the warm-up and _DOCS, as datasets' workers do
    _BARRIER[:] = [fork.Barrier(procs)]
    with fork.Pool(procs) as pool:
        spans = pool.map(timed, [(job, share) for share in features.text_shares(docs, procs)])
    return max(end for _, end, _ in spans) - min(start for start, _, _ in spans), sum(c for *_, c in spans)


JOBS = {"cold": "cold loop", "warm": "warm loop", "primed": "primed loop", "spin": "pure-Python loop"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=2000, help="number of documents (default 2000)")
    ap.add_argument("--path", type=Path, default=DEFAULT_PATH, help="folder of .txt / .txt.gz files")
    ap.add_argument("--prime", type=int, default=4000, help="documents the primed job runs first (default 4000)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of the forked runs (default 5)")
    ap.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = ap.parse_args()

    import datasets

    from bielik.data import features

    datasets.disable_caching()
    datasets.disable_progress_bars()
    docs = documents(args.path, args.docs + args.prime)
    docs, _PRIME[:] = docs[:args.docs], docs[args.docs:]
    mean_chars = sum(map(len, docs)) / len(docs)
    print(f"{len(docs)} documents from {args.path}, {mean_chars:.0f} characters on average, and {len(_PRIME)} to "
          f"prime with; {os.cpu_count()} CPUs")
    load_before = os.getloadavg()[0]

    t = time.perf_counter()
    features.warm_up()
    warm_up = time.perf_counter() - t

    runs = []
    features.clear_cache()
    t = clock()
    for d in docs:
        features.extract(d)
    runs.append(figures("extract() loop, empty token cache", since(t), docs, 1))
    tokens_cached = len(features._CACHE)
    t = clock()
    for d in docs:
        features.extract(d)
    runs.append(figures("extract() loop, warm token cache", since(t), docs, 1))

    ds = datasets.Dataset.from_dict({"text": docs})
    for procs in (1, 2):
        features.clear_cache()
        t = clock()
        out = features.extract_dataset(ds, num_proc=procs)
        runs.append(figures(f"extract_dataset(num_proc={procs})", since(t), docs, procs))
        assert len(out) == len(docs)

    _DOCS[:] = docs
    timings = {(job, procs): [] for job in JOBS for procs in (1, 2)}
    for _ in range(args.rounds):
        for job in JOBS:
            for procs in (1, 2):
                timings[job, procs].append(forked(job, docs, procs))
    ratios = {job: [one[0] / two[0] for one, two in zip(timings[job, 1], timings[job, 2])] for job in JOBS}
    for (job, procs), spent in timings.items():
        median = tuple(float(np.median(x)) for x in zip(*spent))
        runs.append(figures(f"{JOBS[job]} in {procs} forked process{'es' if procs > 1 else ''}", median, docs,
                            procs))

    load_after = os.getloadavg()[0]
    print(f"warm-up (character table + morfeusz dictionary): {warm_up:.2f} s; "
          f"distinct tokens analysed: {tokens_cached:,}; 1-min load average {load_before:.2f} -> {load_after:.2f}")
    print(f"{'run':40s} {'s':>7s} {'docs/s':>8s} {'MB/s':>6s} {'docs/s/core':>12s} {'MB/s/core':>10s} "
          f"{'CPU s':>7s} {'docs/CPU s':>11s}")
    for r in runs:
        print(f"{r['run']:40s} {r['seconds']:7.2f} {r['docs_per_s']:8.0f} {r['mb_per_s']:6.2f} "
              f"{r['docs_per_s_per_core']:12.0f} {r['mb_per_s_per_core']:10.2f} {r['cpu_seconds']:7.2f} "
              f"{r['docs_per_cpu_s']:11.0f}")

    by_name = {r["run"]: r["docs_per_s"] for r in runs}
    print("two processes against one: extract_dataset {:.2f}x (one run)".format(
        by_name["extract_dataset(num_proc=2)"] / by_name["extract_dataset(num_proc=1)"]))
    for job, name in JOBS.items():
        r = ratios[job]
        print(f"  {name} in forked processes: {np.median(r):.2f}x, the median of {len(r)} round(s) "
              f"({', '.join(f'{x:.2f}' for x in r)})")

    if args.json:
        head = next(r for r in runs if r["run"] == "extract_dataset(num_proc=1)")
        result = {"docs_per_s_per_core": head["docs_per_s_per_core"], "mb_per_s_per_core": head["mb_per_s_per_core"],
                  "docs": len(docs), "mean_chars": mean_chars, "warm_up_s": warm_up, "features": len(features.FEATURES),
                  "cpus": os.cpu_count(), "load_average_before": load_before, "load_average_after": load_after,
                  "prime_docs": len(_PRIME), "rounds": args.rounds, "two_against_one": ratios, "runs": runs}
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
