"""Second seeds and the noise they measure: the seeds a chapter trains with, spreads and paired standard errors."""
import math

import pytest
import torch

from bielik.training import curves, seeds

from conftest import tiny_mistral


def test_the_other_seeds_follow_the_chapters_own():
    assert seeds.other_seeds(0, 1) == [] and seeds.other_seeds(0, 2) == [1] and seeds.other_seeds(7, 3) == [8, 9]
    for bad in (0, -1, 1.5, "2"):
        with pytest.raises(ValueError, match="the parameter seeds must be a whole number of runs"):
            seeds.other_seeds(0, bad)


def test_spread_by_hand():
    assert seeds.spread([2.5, 2.25, 2.75]) == 0.5 and math.isnan(seeds.spread([2.5]))


def test_paired_standard_error_by_hand():
    # differences 0.1, 0.3: mean 0.2, sample sd 0.1414, se 0.1414 / sqrt 2 = 0.1
    assert curves.paired_se([1.1, 2.3], [1.0, 2.0]) == pytest.approx(0.1)
    assert math.isnan(curves.paired_se([1.0], [0.5]))
    with pytest.raises(ValueError):
        curves.paired_se([1.0, 2.0], [1.0])


def test_row_losses_average_to_the_mean_loss():
    model = tiny_mistral(64)
    g = torch.Generator().manual_seed(0)
    rows = [{"input_ids": torch.randint(0, 64, (16,), generator=g).tolist(), "position_ids": list(range(16)),
             "segments": [0] * 16} for _ in range(5)]
    per_row = curves.row_losses(model, rows, batch_size=2)
    assert len(per_row) == 5 and sum(per_row) / 5 == pytest.approx(curves.mean_loss(model, rows, batch_size=2))
