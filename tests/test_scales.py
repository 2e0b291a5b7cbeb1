import pytest

from bielik.book.chapters import CHAPTERS, get_chapter
from bielik.book.scales import PRESETS, SCALES, ScaleError, get_scale, preset, resolve


def test_four_scales_ci_and_tiny_offline():
    assert list(SCALES) == ["ci", "tiny", "small", "full"]
    assert [s.offline for s in SCALES.values()] == [True, True, False, False]


@pytest.mark.parametrize("chapter", sorted(PRESETS))
def test_every_scale_names_the_same_parameters(chapter):
    assert set(PRESETS[chapter]) == set(SCALES)
    names = {scale: set(params) for scale, params in PRESETS[chapter].items()}
    assert all(n == names["tiny"] for n in names.values()), names


def test_presets_belong_to_known_chapters():
    assert set(PRESETS) <= {c.id for c in CHAPTERS}


def test_unknown_scale_is_named():
    with pytest.raises(ScaleError, match=r"unknown scale 'huge'.*ci, tiny, small, full"):
        get_scale("huge")


def test_resolve_uses_preset_for_none_and_keeps_overrides():
    assert resolve("00_overview", "ci", {"dpi": None}) == preset("00_overview", "ci")
    assert resolve("00_overview", "ci", {"dpi": 33}) == {"dpi": 33}


def test_unknown_parameter_is_named_with_the_chapters_parameters():
    with pytest.raises(ScaleError, match=r"no parameter 'lr'.*scale, run_dir, seed, dpi"):
        resolve("00_overview", "tiny", {"lr": 1e-3})


def test_preset_is_a_copy():
    preset("00_overview", "ci")["dpi"] = -1
    assert preset("00_overview", "ci")["dpi"] != -1


def test_chapter_lookup():
    assert get_chapter("4").id == get_chapter("04").id == get_chapter("04_pretraining").id
    with pytest.raises(KeyError, match="no chapter '42'"):
        get_chapter("42")


def test_list_parameters_are_split_stripped_and_cast():
    from bielik.book.scales import ScaleError, as_list

    assert as_list("Q8_0, Q4_K_M,") == ["Q8_0", "Q4_K_M"]
    assert as_list("0,5", int) == [0, 5]
    assert as_list(5, int) == [5] and as_list(["a", " b"]) == ["a", "b"] and as_list("") == []
    with pytest.raises(ScaleError, match="'x' in '0,x' is not a int"):
        as_list("0,x", int)


@pytest.mark.parametrize("scale", SCALES)
def test_chapters_03_and_04_measure_the_base_on_the_same_heldout_rows(scale):
    # the same base model must not show two held-out losses in two chapters
    up, pre = resolve("03_upscaling", scale, {}), resolve("04_pretraining", scale, {})
    assert (up["heldout_rows"], up["context"]) == (pre["heldout_rows"], pre["context"])
