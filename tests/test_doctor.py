"""`bielik doctor`: the report a student reads first, and what it says when a part is missing."""
from importlib import metadata

from bielik.book import cli, doctor


def test_the_report_names_every_part(capsys):
    code = cli.main(["doctor"])
    out = capsys.readouterr().out
    for part in ("Python", "torch", "device", "CPU cores", "free memory", "free disk", "lm_eval",
                 "llama_cpp_python", "llama.cpp library", "GGUF converter"):
        assert part in out, part
    assert code == 0 and "everything the tiny book needs is here" in out  # the test environment is complete


def test_a_missing_part_is_named_with_the_install_command(monkeypatch, capsys):
    real = metadata.version

    def version(name):
        if name.replace("-", "_") == "llama_cpp_python":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(doctor.metadata, "version", version)
    assert cli.main(["doctor"]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("llama_cpp_python"))
    assert "missing" in line and "pip install -e '.[test,quantization]'" in line
    assert "missing: llama_cpp_python" in out
