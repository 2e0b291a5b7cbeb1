import gzip

import pytest

from bielik.data.readers import DataError
from bielik.data.topic_classifier import OTHER, TAGS, build, predict, read_8tags


def test_read_8tags_and_bad_line(tmp_path):
    p = tmp_path / "t.txt.gz"
    with gzip.open(p, "wt") as f:
        f.write("6 Lewandowski strzelił dwa gole\n3 Nowy lek na grypę\nsport bez etykiety\n")
    with pytest.raises(DataError, match=r"t.txt.gz, line 3: expected '<label 0-7> <sentence>'"):
        read_8tags(p)


def test_classifier_learns_and_says_other_when_unsure():
    sport = [f"mecz piłka gol drużyna trener {i}" for i in range(30)]
    food = [f"przepis zupa obiad smak kuchnia {i}" for i in range(30)]
    model = build(max_features=100).fit(sport + food, ["sport"] * 30 + ["food"] * 30)
    names, proba = predict(model, ["gol w meczu drużyny", "zupa na obiad"], other_below=0.2)
    assert names == ["sport", "food"] and proba.shape == (2, 2)
    names, _ = predict(model, ["gol w meczu drużyny"], other_below=1.01)
    assert names == [OTHER]
    assert len(TAGS) == 8
