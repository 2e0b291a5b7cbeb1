"""The cluster jobs in bielik/launch/ agree with the package: their scripts parse, name configs accelerate reads
and `bielik` commands that exist, and their nodes x GPUs x the `full` preset's batch make the report's global
batch. No SLURM here, so nothing is submitted; tests/test_distributed.py runs the trainers in two processes."""
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from bielik.book.cli import build_parser
from bielik.book.scales import preset

LAUNCH = Path(__file__).resolve().parent.parent / "bielik" / "launch"
# chapter, its job script, the report's global batch (sequences; pairs for DPO)
JOBS = [("04_pretraining", "pretrain.slurm", 128), ("05_sft", "sft.slurm", 128), ("06_dpo", "dpo.slurm", 64)]


def _command(script: str) -> list[str]:
    """The `accelerate launch ...` line of a job script, continuation lines joined; a variable with a default
    becomes its default, any other variable X."""
    text = (LAUNCH / script).read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if "accelerate launch" in line)
    line = re.sub(r"\"?\$\{\w+:-(\w+)\}\"?", r"\1", line)
    return shlex.split(re.sub(r"\$\(\(.*?\)\)|\"?\$\{?\w+\}?\"?", "X", line))


@pytest.mark.parametrize("chapter, script, global_batch", JOBS)
def test_a_job_script_launches_an_existing_command_on_the_report_batch(chapter, script, global_batch):
    path = LAUNCH / script
    assert subprocess.run(["bash", "-n", str(path)]).returncode == 0, f"{script}: bash cannot parse it"
    cmd = _command(script)
    config = cmd[cmd.index("--config_file") + 1]
    assert (LAUNCH.parent.parent / config).is_file(), f"{script} names {config}, which does not exist"
    args = build_parser().parse_args(cmd[cmd.index("bielik") + 1:])
    assert (args.command, args.scale) == ({"04": "pretrain", "05": "sft", "06": "dpo"}[chapter[:2]], "full")
    nodes = int(re.search(r"#SBATCH --nodes=(\d+)", path.read_text()).group(1))
    gpus = int(re.search(r"#SBATCH --gpus-per-node=(\d+)", path.read_text()).group(1))
    P = preset(chapter, "full")
    assert nodes * gpus * P["batch_size"] * P["grad_accum"] == global_batch


def test_the_accelerate_configs_load_with_accelerate():
    from accelerate.commands.config.config_args import load_config_from_file

    ddp = load_config_from_file(str(LAUNCH / "accelerate_ddp.yaml"))
    fsdp = load_config_from_file(str(LAUNCH / "accelerate_fsdp.yaml"))
    assert (ddp.distributed_type.value, ddp.num_machines) == ("MULTI_GPU", 1)
    assert (fsdp.distributed_type.value, fsdp.num_processes, fsdp.mixed_precision) == ("FSDP", 128, "bf16")
