"""Export round trips: the NIR graph, written and read back, runs in two consumers that install
here, snnTorch's `import_from_nir` and Norse's `from_nir`, and gives the model's spikes and
scores; TorchScript loads with torch.jit.load and matches to 1e-5."""

from __future__ import annotations

import nir
import pytest
import snntorch.utils
import torch
from norse.torch.utils.import_nir import from_nir as norse_from_nir
from snntorch.import_nir import import_from_nir

from ecg.cli.main import main
from ecg.core.errors import ECGError
from ecg.export.nir_graph import DT, scores_from_output, to_nir
from ecg.models.beat_snn import PRESENT
from ecg.models.checkpoint import load_scorer
from ecg.models.ensemble import MeanEnsemble
from tests.deployable import untrained_members, write_deployable


def beat_input(batch: int, model, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, model.num_steps, model.step_features, generator=g)
    x[:, :, 0] = 1.0  # "present"
    x[:, -5:] = 0  # padding steps, as in windows with fewer beats
    return x.reshape(batch, -1)


def snntorch_run(graph: nir.NIRGraph, steps: torch.Tensor, spikes: dict) -> torch.Tensor:
    """The output node's trace [T, B, outputs], by snnTorch; LIF spikes land in `spikes`."""
    net = import_from_nir(graph)
    snntorch.utils.reset(net)
    record(net, spikes, lambda out: out)
    state, trace = None, []
    for x in steps:
        out, state = net(x) if state is None else net(x, state)
        trace.append(out.detach())
    return torch.stack(trace)


def norse_run(graph: nir.NIRGraph, steps: torch.Tensor, spikes: dict) -> torch.Tensor:
    net = norse_from_nir(graph, dt=DT)
    record(net, spikes, lambda out: out[0])
    state, trace = None, []
    for x in steps:
        out, state = net(x, state)
        trace.append(out.detach())
    return torch.stack(trace)


def record(net: torch.nn.Module, spikes: dict, spikes_of) -> None:
    """Collect the spikes of every LIF module at every step, by module name."""
    for name, module in net.named_modules():
        if name.startswith("lif"):
            spikes[name] = []
            module.register_forward_hook(
                lambda m, i, out, name=name: spikes[name].append(spikes_of(out).detach())
            )


@pytest.mark.parametrize("consumer", ["snntorch", "norse"])
def test_nir_graph_runs_in_two_consumers_with_the_models_spikes_and_scores(tmp_path, consumer):
    members = untrained_members("beat", members=2, gain=1.0)
    for member in members:
        with torch.no_grad():  # so that every layer spikes on this input
            member.fc1.weight.mul_(12.0)
            member.fc2.weight.mul_(3.0)
    x = beat_input(24, members[0])
    nir.write(tmp_path / "model.nir", to_nir(members, threshold=0.4, meta={}))
    graph = nir.read(tmp_path / "model.nir")
    assert [type(graph.nodes[f"lif{k}"]).__name__ for k in (1, 2)] == ["LIF", "LIF"]
    events = members[0].encode(x).transpose(0, 1)  # [T, B, channels]
    assert set(events.unique().tolist()) == {0.0, 1.0}
    spikes: dict[str, list] = {}
    trace = (snntorch_run if consumer == "snntorch" else norse_run)(graph, events, spikes)
    assert sorted(spikes) == ["lif1", "lif2"]
    layers = {name: torch.stack(s).float() for name, s in spikes.items()}  # [T, B, members * N]
    for i, member in enumerate(members):
        with torch.no_grad():
            out = member(x)
        counts = member.last_activity.layer_spikes
        assert (counts.sum(0) > 0).all(), "every layer must spike: the test could not fail"
        for k, width in enumerate(member.hidden):
            mine = layers[f"lif{k + 1}"][:, :, i * width : (i + 1) * width]
            assert torch.equal(mine.sum((0, 2)), counts[:, k])
        assert torch.equal(mine, out.spikes)  # the last layer, step by step
        k = member.readout_size
        member_trace = trace[:, :, k * i : k * (i + 1)]
        torch.testing.assert_close(member_trace, out.membrane, atol=1e-5, rtol=0)
    expected = MeanEnsemble(members).score(x)
    present = x.view(len(x), members[0].num_steps, -1)[:, :, PRESENT] != 0
    beat_classes = graph.metadata["beat_classes"]
    assert beat_classes == 4
    scores = scores_from_output(trace, 2, beat_classes=beat_classes, present=present)
    torch.testing.assert_close(scores, expected, atol=1e-5, rtol=0)
    meta = graph.metadata
    assert meta["dt"] == DT and meta["threshold"] == 0.4
    assert "level-crossing" in meta["input_encoding"]


def test_nir_graph_of_the_design_network():
    (member,) = untrained_members("deep", members=1, gain=1.0)
    with torch.no_grad():
        member.fc1.weight.mul_(8.0)
    x = torch.randn(3, 2500, generator=torch.Generator().manual_seed(2))
    graph = to_nir([member], threshold=0.5, meta={})
    steps = x.unsqueeze(0).expand(member.num_steps, -1, -1)  # direct encoding
    trace = snntorch_run(graph, steps, {})
    with torch.no_grad():
        out = member(x)
    assert member.last_activity.layer_spikes.sum() > 0
    torch.testing.assert_close(trace, out.membrane, atol=1e-5, rtol=0)


def test_rate_encoding_and_subtract_reset_are_refused():
    (member,) = untrained_members("deep", members=1)
    member.encoding = "rate"
    with pytest.raises(ECGError, match="rate encoding"):
        to_nir([member], threshold=0.5, meta={})
    (member,) = untrained_members("beat", members=1)
    member.reset = "subtract"
    with pytest.raises(ECGError, match=r"resets to zero.*model\.beat\.reset: zero"):
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
