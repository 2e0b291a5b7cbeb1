import json

import pytest

from bielik.book.artifacts import atomic_path, read_json, write_json


def test_write_json_round_trip(tmp_path):
    import numpy as np
    p = write_json(tmp_path / "a" / "x.json", {"f": np.float32(0.5), "n": np.int64(3)})
    assert read_json(p) == {"f": 0.5, "n": 3}
    assert [q.name for q in p.parent.iterdir()] == ["x.json"]  # no temporary left behind


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    p = write_json(tmp_path / "x.json", {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(p) as tmp:
            tmp.write_text('{"v": 2, "half": ')
            raise RuntimeError("killed mid-write")
    assert read_json(p) == {"v": 1}
    assert [q.name for q in tmp_path.iterdir()] == ["x.json"]


def test_folder_is_replaced_whole(tmp_path):
    final = tmp_path / "model"
    for version in (1, 2):
        with atomic_path(final, is_dir=True) as tmp:
            tmp.mkdir(exist_ok=True)
            (tmp / "weights").write_text(str(version))
            if version == 1:
                (tmp / "only_in_v1").write_text("x")
    assert sorted(q.name for q in final.iterdir()) == ["weights"]
    assert (final / "weights").read_text() == "2"
    assert [q.name for q in tmp_path.iterdir()] == ["model"]


def test_folder_not_created_when_the_writer_fails(tmp_path):
    with pytest.raises(ValueError):
        with atomic_path(tmp_path / "model", is_dir=True) as tmp:
            (tmp / "config.json").write_text("{}")
            raise ValueError("out of memory")
    assert list(tmp_path.iterdir()) == []


def test_nothing_written_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing was written"):
        with atomic_path(tmp_path / "x.json"):
            pass


def test_broken_json_names_file_and_line(tmp_path):
    p = tmp_path / "m.json"
    p.write_text('{\n  "a": 1,\n  "b": \n}')
    with pytest.raises(ValueError, match=r"m.json, line 4: not valid JSON"):
        read_json(p)
    json.loads('{"ok": 1}')
