"""Chapters 04, 05 and 06 train the same way in two data-parallel processes as in one: a few steps of each stage
on one global batch, once plainly and once under torchrun (two CPU processes over gloo), must log the same losses.

What makes them differ when a trainer is wrong: WICEL's N and ALR's token count taken per process instead of over
the whole step (a 1/sqrt(2) smaller ALR scale under two processes), or DPO's cached reference log-probs that only
one process can read. What makes them differ when nothing is wrong: the order of floating-point sums (all-reduce
of gradients against one process's backward pass), about 1e-6 relative, hence the tolerance below.
"""
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "tests" / "ddp_worker.py"
GLOBAL_BATCH = 8
TOLERANCE = 1e-3  # relative, on each logged loss
STAGES = ("pretrain", "sft", "dpo")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(processes: int, *command: str) -> list[str]:
    """`torchrun --nproc_per_node N COMMAND` on this machine (a script, or -m and a module): accelerate 1.15's
    `launch --cpu` starts only one process, so the CPU tests start theirs with torch's launcher, over gloo."""
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes),
            "--master_addr", "127.0.0.1", "--master_port", str(_free_port()), *command]


def run_job(cmd: list[str], log: Path, timeout: int = 900) -> None:
    """Run `cmd`, keep its output in `log`, and fail naming the lines that carry an error: torchrun's summary comes
    last, the failing rank's own traceback earlier."""
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    log.write_text(done.stdout + done.stderr)
    errors = [line for line in done.stderr.splitlines() if "Error" in line or "error:" in line]
    assert done.returncode == 0, f"{' '.join(cmd)} failed (log: {log}):\n" + "\n".join(errors[:20])


def _run(tok_dir: str, out: Path, processes: int) -> dict:
    out.mkdir(parents=True)
    args = [str(WORKER), ",".join(STAGES), tok_dir, str(out), str(GLOBAL_BATCH)]
    run_job(torchrun(processes, *args) if processes > 1 else [sys.executable, *args], out / "log.txt")
    return json.loads((out / "losses.json").read_text())


@pytest.fixture(scope="module")
def runs(quiz_tokenizer, tmp_path_factory):
    """Every stage's figures from one process and from two."""
    tok_dir, out = quiz_tokenizer[0].name_or_path, tmp_path_factory.mktemp("ddp")
    one, two = _run(tok_dir, out / "one", 1), _run(tok_dir, out / "two", 2)
    assert (one["world_size"], two["world_size"]) == (1, 2)
    return one, two


@pytest.mark.slow
@pytest.mark.parametrize("stage", STAGES)
def test_two_processes_train_like_one(stage, runs):
    one, two = (r[stage] for r in runs)
    for key in one:
        assert len(one[key]) == len(two[key]) == 3, key
        assert two[key] == pytest.approx(one[key], rel=TOLERANCE), f"{stage}: {key} differs under two processes"
    assert one["loss"][-1] < one["loss"][0], f"{stage}: the loss does not fall in three steps"


@pytest.mark.slow
def test_a_model_sharded_by_fsdp_is_saved_whole(tmp_path):
    """At full, chapters 04-06 train under FSDP: each process holds a shard of every weight, and the model folder
    they save must hold the whole weights, as the unsharded model had them."""
    run_job(torchrun(2, str(ROOT / "tests" / "fsdp_worker.py"), str(tmp_path)), tmp_path / "log.txt", timeout=300)
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["processes"] == 2 and result["sharded"] and result["tensors"] > 0
    assert result["different"] == []
