"""Export round trips: the NIR graph re-imported and run by the reference interpreter gives
the model's spikes and scores; TorchScript loads with torch.jit.load and matches to 1e-5."""

from __future__ import annotations

import nir
import numpy as np
import pytest
import torch

from ecg.cli.main import main
from ecg.core.errors import ECGError
from ecg.export.nir_graph import to_nir
from ecg.export.nir_run import nir_scores, run_nir
from ecg.models.checkpoint import load_scorer
from ecg.models.ensemble import MeanEnsemble
from ecg.models.reference import ReferenceSNN
from tests.deployable import untrained_members, write_deployable


def beat_input(batch: int, model, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, model.num_steps, model.step_features, generator=g)
    x[:, -5:] = 0  # padding steps, as in windows with fewer beats
    return x.reshape(batch, -1)


def test_nir_graph_reproduces_spikes_and_scores_exactly(tmp_path):
    members = [m.double() for m in untrained_members("beat", members=2)]
    x = beat_input(8, members[0]).double()
    graph = to_nir(members, threshold=0.4, meta={})
    nir.write(tmp_path / "model.nir", graph)
    back = nir.read(tmp_path / "model.nir")
    steps = x.view(8, members[0].num_steps, -1).transpose(0, 1).numpy()
    traces = run_nir(back, steps)
    for i, member in enumerate(members, start=1):
        with torch.no_grad():
            ReferenceSNN(member)(x)  # the step-by-step snnTorch loop
        counts = member.last_activity.layer_spikes.numpy()
        assert counts.sum() > 0, "the test model must spike"
        for k in range(len(member.fcs)):
            got = traces[f"m{i}.thr{k + 1}"].sum((0, 2))
            np.testing.assert_array_equal(got, counts[:, k])
        with torch.no_grad():
            membrane = member(x).membrane.numpy()
        np.testing.assert_allclose(traces[f"output_m{i}"], membrane, atol=1e-9)
    expected = MeanEnsemble(members).score(x).numpy()
    np.testing.assert_allclose(nir_scores(back, steps), expected, atol=1e-9)
    meta = back.metadata
    assert "subtract" in meta["reset"] and meta["dt"] == 1.0 and meta["threshold"] == 0.4


def test_nir_graph_of_the_design_network(tmp_path):
    (member,) = [m.double() for m in untrained_members("deep", members=1, gain=1.0)]
    x = torch.randn(3, 2500, dtype=torch.float64)
    graph = to_nir([member], threshold=0.5, meta={})
    steps = x.unsqueeze(0).expand(member.num_steps, -1, -1).numpy()  # direct encoding
    np.testing.assert_allclose(
        nir_scores(graph, steps), MeanEnsemble([member]).score(x).numpy(), atol=1e-9
    )


def test_rate_encoding_is_refused():
    (member,) = untrained_members("deep", members=1)
    member.encoding = "rate"
    with pytest.raises(ECGError, match="rate encoding"):
        to_nir([member], threshold=0.5, meta={})


@pytest.mark.parametrize("arch", ["beat", "beat_ann", "deep"])
def test_torchscript_round_trip(tmp_path, arch):
    path = write_deployable(tmp_path / "model.pt", arch=arch, threshold=0.3)
    out = tmp_path / "model.ts"
    assert main(["export", str(path), "--to", "torchscript", str(out)]) == 0
    loaded = torch.jit.load(str(out))
    scorer, _ = load_scorer(path)
    scorer.eval()
    width = scorer.input_width
    x = torch.randn(6, width, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(loaded(x), scorer.score(x), atol=1e-5, rtol=0)


def test_export_cli_writes_a_nir_file_that_reads_back(tmp_path, capsys):
    path = write_deployable(tmp_path / "model.pt", threshold=0.3)
    assert main(["export", str(path), "--to", "nir", str(tmp_path / "m.nir")]) == 0
    graph = nir.read(tmp_path / "m.nir")
    assert graph.metadata["members"] == 2 and graph.metadata["input"]["fs"] == 250
    assert "NIR graph" in capsys.readouterr().out
    with pytest.raises(ECGError, match="only spiking networks"):
        main(["export", str(write_deployable(tmp_path / "ann.pt", arch="beat_ann")),
              "--to", "nir", str(tmp_path / "ann.nir")])  # fmt: skip
    assert not (tmp_path / "ann.nir").exists()
