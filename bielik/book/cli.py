"""The `bielik` command: run chapters, build the book, print recorded figures, check the machine, clean up,
generate the chapters' notebooks from their text sources, install llama.cpp's converter, and run chapter 04's,
05's and 06's training as batch jobs (under `accelerate launch`, bielik/launch/)."""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from bielik.book.scales import DEFAULT_SCALE, SCALES


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", default=DEFAULT_SCALE, help=f"one of {', '.join(SCALES)} (default {DEFAULT_SCALE})")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--only", nargs="+", metavar="NN", help="run only these chapters, e.g. --only 03 04")
    g.add_argument("--from", dest="start_from", metavar="NN", help="run this chapter and every later one")
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="override a chapter parameter, e.g. -p max_steps 200 (repeatable)")
    p.add_argument("--smoke", action="store_true",
                   help="cap every step, document and evaluation count at its ci value and nothing else: the "
                        "scale's whole code path in minutes (e.g. small on a CPU, from a local hub cache)")
    p.add_argument("--run-dir", type=Path, help="run folder (default runs/<scale>)")
    p.add_argument("--out", type=Path,
                   help="where executed notebooks go (default book/chapters, or RUN_DIR/chapters with --run-dir)")
    p.add_argument("--base-run", type=Path, metavar="DIR",
                   help="start a new --run-dir from DIR's results of the chapters not rerun (for exercises)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bielik", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _run_args(sub.add_parser("run", help="execute the chapters with papermill"))
    book = sub.add_parser("book", help="run the chapters, then build the HTML book")
    _run_args(book)
    book.add_argument("--no-run", action="store_true", help="build from the chapters already executed")
    m = sub.add_parser("metrics", help="print every recorded figure as JSON lines")
    m.add_argument("--scale", default=DEFAULT_SCALE)
    m.add_argument("--run-dir", type=Path)
    d = sub.add_parser("doctor", help="check this machine: Python, torch, device, memory, disk, installed parts")
    d.add_argument("--run-dir", type=Path, help="where runs go (default runs/), for the free-disk check")
    d.add_argument("--scale", help="also say which of the scale's hub models and data sets are cached")
    f = sub.add_parser("fetch", help="download the hub models and data sets a scale needs into the Hugging Face "
                                     "cache, so that its chapters run with HF_HUB_OFFLINE=1")
    f.add_argument("--scale", required=True, help="small or full")
    f.add_argument("--list", action="store_true", help="list the files and their sizes, download nothing")
    t = sub.add_parser("timings", help="each executed chapter's time, scale and machine (for the course guide)")
    t.add_argument("--chapters", type=Path, help="the executed chapters (default book/chapters)")
    t.add_argument("--save", nargs="?", const=Path("book/timings.json"), type=Path, metavar="FILE",
                   help="also write them as the course guide's reference run (default FILE: book/timings.json)")
    c = sub.add_parser("clean", help="remove run folders, executed chapters and the built book")
    c.add_argument("--scale", help="remove only runs/<scale> (default: all runs)")
    n = sub.add_parser("notebooks", help="write notebooks/*.ipynb from their text sources notebooks/*.md")
    n.add_argument("--check", action="store_true", help="only list the notebooks that differ; exit 1 if any")
    sub.add_parser("install-converter", help="extract llama.cpp's GGUF converter from llama-cpp-python's sources")
    for name, what in (("pretrain", "chapter 04's main run"), ("sft", "a chapter 05 variant (default the report's)"),
                       ("dpo", "chapter 06's DPO-P run and its phase checkpoints")):
        p = sub.add_parser(name, help=f"{what} as a batch job (bielik/launch/{name}.slurm)")
        p.add_argument("--scale", default="full")
        p.add_argument("--run-dir")
        if name == "sft":
            p.add_argument("--variant", default="wicel_alr", choices=("ce", "wicel", "wicel_alr"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from bielik.book.artifacts import MissingArtifact
    from bielik.book.scales import ScaleError

    try:
        if args.command in ("run", "book"):
            return _run(args)
        if args.command == "metrics":
            return _metrics(args)
        if args.command == "clean":
            return _clean(args)
        if args.command == "timings":
            return _timings(args)
        if args.command == "notebooks":
            return _notebooks(args)
        if args.command == "install-converter":
            from bielik.deploy.gguf_files import install_converter

            print(install_converter())
            return 0
        if args.command in ("pretrain", "sft", "dpo"):
            return _training_job(args)
        if args.command == "fetch":
            from bielik.book import hub

            try:
                hub.fetch(args.scale, listing_only=args.list)
            except hub.HubUnreachable as e:
                print(f"bielik fetch: {e}", file=sys.stderr)
                return 1
            return 0
        if args.command == "doctor":
            from bielik.book import doctor

            rows = doctor.checks(args.run_dir, scale=args.scale)
            print(doctor.report(rows, args.scale))
            return 1 if any(r["status"] == doctor.MISSING for r in rows) else 0
    except (ScaleError, KeyError, MissingArtifact, ValueError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"bielik {args.command}: {msg}", file=sys.stderr)
        return 2
    return 0


def _training_job(args) -> int:
    """The same `run` the chapter's notebook calls, with the scale's presets; under `accelerate launch` each
    process runs this and the Trainer finds the process group."""
    from bielik.posttrain import dpo, sft
    from bielik.pretrain import continued

    job = {"pretrain": continued.main, "sft": sft.main, "dpo": dpo.main}[args.command]
    job(args.scale, args.run_dir, **({"variant": args.variant} if args.command == "sft" else {}))
    return 0


def _run(args) -> int:
    from bielik.book.build import BookBuildFailed, build_book
    from bielik.book.runner import ChapterFailed, parse_value, run_chapters
    from bielik.book.scales import get_scale

    get_scale(args.scale)
    if not (args.command == "book" and args.no_run):
        params = {name: parse_value(value) for name, value in args.parameter}
        out = args.out
        if args.command == "book" and out is None:  # the book renders book/chapters, whatever the run folder
            from bielik.book.paths import repo_root
            out = repo_root() / "book" / "chapters"
        try:
            run_chapters(args.scale, only=args.only, start_from=args.start_from, params=params,
                         out_dir=out, run_dir=args.run_dir, base_run=args.base_run, smoke=args.smoke)
        except ChapterFailed as e:
            print(f"bielik {args.command}: {e}", file=sys.stderr)
            return 1
    if args.command == "book":
        try:
            build_book()
        except BookBuildFailed as e:
            print(f"bielik book: {e}", file=sys.stderr)
            return 1
    return 0


def _metrics(args) -> int:
    from bielik.book.figures import recorded
    from bielik.book.paths import runs_dir
    from bielik.book.scales import get_scale

    get_scale(args.scale)
    run = runs_dir(args.scale, args.run_dir)
    if not (run / "metrics").is_dir():
        raise ValueError(f"no figures recorded in {run / 'metrics'}: run the chapters first "
                         f"(bielik run --scale {args.scale})")
    for fig in recorded(run):
        print(json.dumps(fig, ensure_ascii=False))
    return 0


def _timings(args) -> int:
    from bielik.book import provenance
    from bielik.book.artifacts import write_json
    from bielik.book.paths import repo_root

    record = provenance.timings(args.chapters or repo_root() / "book" / "chapters")
    print(f"scale {record['scale']}, bielik {record['version']} ({record['commit']}), "
          f"{provenance.describe_machine(record['machine'])}")
    for row in record["chapters"]:
        print(f"  {row['chapter']:<20} {row['seconds']:8.1f} s")
    print(f"  {'all':<20} {sum(r['seconds'] for r in record['chapters']):8.1f} s")
    if args.save:
        path = args.save if args.save.is_absolute() else repo_root() / args.save
        write_json(path, record)
        print(f"saved {path}")
    return 0


def _notebooks(args) -> int:
    from bielik.book import colab, sources

    if args.check:
        stale = sources.stale()
        for p in stale:
            print(f"{p} differs from its text source: run `bielik notebooks`")
        return 1 if stale else 0
    for p in colab.sync() + sources.write_notebooks():
        print(f"updated {p}")
    return 0


def _clean(args) -> int:
    from bielik.book.paths import repo_root
    from bielik.book.scales import get_scale

    root = repo_root()
    if args.scale:
        get_scale(args.scale)
        targets = [root / "runs" / args.scale]
    else:
        targets = [root / "runs"]
    targets += [root / "_build", *sorted((root / "book" / "chapters").glob("*.ipynb"))]
    for t in targets:
        if t.is_dir():
            shutil.rmtree(t)
            print(f"removed {t}/")
        elif t.exists():
            t.unlink()
            print(f"removed {t}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
