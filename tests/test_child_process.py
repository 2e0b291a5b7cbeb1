"""The one child-process helper (bielik.book.child_process) that merging, quantization and llama.cpp use."""
import pytest

from bielik.book import child_process


def test_the_child_calls_the_function_with_the_job_and_returns_its_result():
    # json.dumps returns its argument as text: the job went in as JSON and the result came back as JSON
    assert child_process.run("json:dumps", {"a": [1, 2]}, what="dumping") == '{"a": [1, 2]}'


def test_a_failing_child_says_what_failed_and_why_in_one_line():
    with pytest.raises(LookupError) as e:
        child_process.run("math:sqrt", {"x": 4}, what="taking a square root", error=LookupError)
    assert str(e.value) == "taking a square root failed (exit 1): TypeError: must be real number, not dict"
    assert "Traceback" in e.value.stderr  # the whole story is kept for whoever needs it


def test_a_child_killed_by_a_signal_is_named(tmp_path):
    (tmp_path / "aborts.py").write_text("import os\n\ndef run(job):\n    os.abort()\n")
    with pytest.raises(RuntimeError, match=r"^aborting failed \(killed by SIGABRT\): it wrote nothing to stderr$"):
        child_process.run("aborts:run", {}, what="aborting", env={"PYTHONPATH": str(tmp_path)})


def test_the_child_gets_the_extra_environment(tmp_path):
    # a module of the test's own, found through the PYTHONPATH the child is given, that prints a line before its
    # result as libraries do: the result is still the last line
    (tmp_path / "probe.py").write_text("import os\n\ndef environment(job):\n    print('noise')\n"
                                       "    return {job['name']: os.environ.get(job['name'])}\n")
    out = child_process.run("probe:environment", {"name": "BIELIK_CHILD_TEST"}, what="reading the environment",
                            env={"BIELIK_CHILD_TEST": "yes", "PYTHONPATH": str(tmp_path)})
    assert out == {"BIELIK_CHILD_TEST": "yes"}
