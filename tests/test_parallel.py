"""Work spread over processes gives exactly the results of one process."""

from __future__ import annotations

import numpy as np
import pytest

from ecg.core.errors import ECGError
from ecg.core.parallel import parallel_map, worker_count
from tests.test_crossval import tiny_dataset


def square(x: int) -> int:
    return x * x


def test_parallel_map_keeps_order(monkeypatch):
    assert parallel_map(square, range(7), workers=2) == [x * x for x in range(7)]
    monkeypatch.setenv("ECG_WORKERS", "zero")
    with pytest.raises(ECGError, match="ECG_WORKERS"):
        worker_count()


@pytest.mark.slow
def test_ensemble_members_are_the_same_on_one_or_two_workers(monkeypatch):
    import dataclasses

    from ecg.models.configs import LogRegConfig
    from ecg.params import load_params
    from ecg.train.crossval import gbm_recipe, network_recipe
    from ecg.train.ensemble import plan, run_jobs
    from tests.conftest import ROOT

    params = load_params(ROOT / "params.yaml")
    cv = dataclasses.replace(
        params.crossval,
        stage2=dataclasses.replace(params.crossval.stage2, num_epochs=2),
    )
    data = tiny_dataset()
    recipes = {
        "logreg": network_recipe("logreg", LogRegConfig(), cv, params.transfer, None),
        "gbm": gbm_recipe(cv),
    }
    rows = np.arange(len(data))
    jobs = plan("logreg", data, rows[40:], rows[:40], inner_folds=2, seed=1, tag="f")
    jobs += plan("gbm", data, rows[40:], rows[:40], inner_folds=2, seed=1, tag="f")
    view, expected = data.labels.numpy(), data.labels.numpy().copy()  # held across the runs
    out = {}
    for workers in ("1", "2"):
        monkeypatch.setenv("ECG_WORKERS", workers)
        out[workers] = run_jobs(jobs, data, recipes, log=lambda _: None)
    for (_, val1, test1), (_, val2, test2) in zip(out["1"], out["2"], strict=True):
        np.testing.assert_array_equal(val1, val2)
        np.testing.assert_array_equal(test1, test2)
    assert out["1"][0][2].std() > 0  # the members learned something
    # the caller's numpy view of its tensors still reads its data after the workers ran
    np.testing.assert_array_equal(view, expected)
