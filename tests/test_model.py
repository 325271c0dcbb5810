import json

import pytest
import torch

from ecg.core.errors import ECGError
from ecg.models.base import LayerActivity, arrhythmia_probability
from ecg.models.checkpoint import config_dict, load_model
from ecg.models.configs import DeepSNNConfig
from ecg.models.deep_snn import DeepSNN
from ecg.models.encoding import rate_encode
from ecg.models.reference import ReferenceSNN
from ecg.train.losses import FocalLoss


def deep(**config) -> DeepSNN:
    return DeepSNN(DeepSNNConfig(**config))


def load_model_as_deep(path, **overrides) -> DeepSNN:
    return load_model(path, arch="deep", **overrides)


def windows(batch: int, seed: int = 0, dtype=torch.float32) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 2500, generator=g, dtype=dtype).cumsum(1)  # ECG-like drift
    return (x - x.mean(1, keepdim=True)) / x.std(1, keepdim=True)


def test_parameter_count_and_layers():
    model = deep()
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 673_410
    assert [n for n, _ in model.named_children()] == ["fc1", "lif1", "fc2", "lif2", "fc3"]
    assert [(fc.in_features, fc.out_features) for fc in model.fcs] == [
        (2500, 256),
        (256, 128),
        (128, 2),
    ]
    for lif in model.lifs:
        assert list(lif.parameters()) == []
        assert lif.beta.item() == pytest.approx(0.9) and lif.threshold.item() == 1.0
        assert lif.reset_mechanism == "zero" and not lif.reset_delay  # NIR's LIF


def test_config_is_plain_and_rebuilds():
    model = deep(encoding="rate", hidden=(64, 32), dropout=0.2)
    config = config_dict(model)
    assert config["arch"] == "deep"
    assert json.loads(json.dumps(config)) == config
    rebuilt = deep(**{k: v for k, v in config.items() if k != "arch"})
    assert config_dict(rebuilt) == config and rebuilt.config == model.config


@pytest.mark.parametrize("encoding", ["direct", "rate"])
def test_output_shapes(encoding):
    model = deep(encoding=encoding, num_steps=20).eval()
    out = model(windows(3))
    assert out.spikes.shape == (20, 3, 128) and out.membrane.shape == (20, 3, 2)
    assert out.logits.shape == (3, 2)
    torch.testing.assert_close(out.logits, out.membrane.mean(0))
    encoded = model.encode(windows(3))
    assert encoded.shape == (3, 20, 2500)
    assert model(encoded[:, :7]).spikes.shape == (7, 3, 128)  # pre-encoded: its own T
    act = model.last_activity
    assert act.layer_spikes.shape == (3, 2) and act.input_spikes.shape == (3,)
    assert model.firing_rates().shape == (2,) and model.synaptic_operations().shape == (3,)


@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("encoding", ["direct", "rate"])
def test_fast_path_matches_snntorch_reference(encoding, training, reset):
    # float64 so that rounding cannot flip a spike between the two paths.
    torch.manual_seed(0)
    model = deep(encoding=encoding, reset=reset).double().train(training)
    x = windows(4, dtype=torch.float64) * 2.0
    targets = torch.tensor([0, 1, 1, 0])
    # small: snnTorch's spikes are float32, so its gradients through them carry float32
    # rounding (1e-7 relative), which large gradients would turn into > 1e-5 absolute
    weights = torch.randn(100, 4, 128, dtype=torch.float64) * 0.01
    results = []
    for reference in (True, False):
        model.zero_grad()
        torch.manual_seed(1)  # same encoding spikes and dropout masks in both paths
        out = (ReferenceSNN(model) if reference else model)(x)
        loss = FocalLoss()(out.logits, targets) + (out.spikes * weights).sum()
        loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters()}
        results.append((out, grads, model.last_activity))
    (ref, ref_grads, ref_act), (fast, fast_grads, fast_act) = results
    for field in ("spikes", "membrane", "logits"):
        torch.testing.assert_close(
            getattr(fast, field), getattr(ref, field).double(), atol=1e-5, rtol=0
        )
    for name, grad in ref_grads.items():
        assert grad.abs().max() > 0, name
        torch.testing.assert_close(fast_grads[name], grad, atol=1e-5, rtol=0, msg=name)
    torch.testing.assert_close(fast_act.layer_spikes, ref_act.layer_spikes)
    assert (fast_act.layer_spikes.sum(0) > 0).all()  # every layer spikes: the test can fail
    assert fast.spikes.sum() > 0


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_other_neuron_constants_match_reference(reset):
    torch.manual_seed(0)
    kwargs = {"beta": 0.8, "threshold": 0.7, "surrogate_slope": 10.0, "num_steps": 30}
    kwargs["reset"] = reset
    model = deep(hidden=(64, 32), **kwargs).double()
    x = windows(3, dtype=torch.float64)
    outs = []
    for reference in (True, False):
        model.zero_grad()
        torch.manual_seed(1)
        out = (ReferenceSNN(model) if reference else model)(x)
        (out.logits.square().sum() + out.spikes.sum()).backward()
        outs.append((out, [p.grad.clone() for p in model.parameters()]))
    (ref, ref_grads), (fast, fast_grads) = outs
    assert model.last_activity.layer_spikes.sum(0).min() > 0
    torch.testing.assert_close(fast.membrane, ref.membrane, atol=1e-5, rtol=0)
    torch.testing.assert_close(fast.spikes, ref.spikes.double(), atol=0, rtol=0)
    for fast_grad, ref_grad in zip(fast_grads, ref_grads, strict=True):
        assert ref_grad.abs().max() > 0
        torch.testing.assert_close(fast_grad, ref_grad, atol=1e-5, rtol=0)


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_torch_scan_matches_numpy_scan(monkeypatch, reset):
    # The torch loops (forward scan, backward recurrence) run off CPU; force them here.
    torch.manual_seed(0)
    model = deep(encoding="rate", num_steps=40, threshold=0.8, reset=reset).double()
    encoded = model.encode(windows(3, dtype=torch.float64))
    grads = []
    for numpy_ok in (True, False):
        monkeypatch.setattr("ecg.models.lif._numpy_ok", lambda t, ok=numpy_ok: ok)
        model.zero_grad()
        torch.manual_seed(2)
        out = model(encoded)
        (out.logits.sum() + out.spikes.sum()).backward()
        grads.append((out, [p.grad.clone() for p in model.parameters()]))
    (a, grads_a), (b, grads_b) = grads
    assert a.spikes.sum() > 0
    torch.testing.assert_close(a.membrane, b.membrane, atol=1e-10, rtol=0)
    assert torch.equal(a.spikes, b.spikes)
    for ga, gb in zip(grads_a, grads_b, strict=True):
        assert ga.abs().max() > 0
        torch.testing.assert_close(ga, gb, atol=1e-10, rtol=1e-10)


def test_pre_encoded_rate_input_matches_reference():
    torch.manual_seed(0)
    model = deep(encoding="rate").double().eval()
    encoded = model.encode(windows(2, dtype=torch.float64))
    assert set(encoded.unique().tolist()) == {0.0, 1.0}
    ref, fast = ReferenceSNN(model)(encoded), model(encoded)
    torch.testing.assert_close(fast.logits, ref.logits, atol=1e-5, rtol=0)
    assert fast.spikes.sum() > 0


def test_rate_encoding_is_seeded():
    model = deep(encoding="rate", num_steps=30).eval()
    x = windows(3)
    torch.manual_seed(5)
    a = model(x).logits
    torch.manual_seed(5)
    b = model(x).logits
    torch.manual_seed(6)
    c = model(x).logits
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_rate_encoding_spike_probabilities():
    x = torch.linspace(-3.0, 5.0, 2500).repeat(8, 1)  # min -> p 0, max -> p 1
    torch.manual_seed(0)
    spikes = rate_encode(x, 100, gain=1.0)
    assert spikes.shape == (100, 8, 2500)
    rate = spikes.mean((0, 1))
    assert rate[0] == 0.0 and rate[-1] == 1.0
    p = torch.linspace(0.0, 1.0, 2500)
    groups = (rate - p).view(10, 250).mean(1)  # 200k draws per group: std ~1e-3
    assert groups.abs().max() < 0.006
    saturated = rate_encode(x, 50, gain=2.0).mean((0, 1))
    assert (saturated[1250:] == 1.0).all() and saturated[:1000].mean() < 0.9


def test_rate_encoding_is_unbiased_between_byte_levels():
    # p = 0.5 + 1/1024 is not a multiple of 1/256: plain rounding would fire at 0.5 (5 sigma
    # away over 8M draws); the dither must hit p itself.
    x = torch.full((32, 2500), 2 * (0.5 + 1 / 1024) - 1)
    x[:, 0], x[:, 1] = -1.0, 1.0  # min and max, so that the min/max scaling keeps p
    torch.manual_seed(0)
    rate = rate_encode(x, 100)[:, :, 2:].mean().item()
    assert abs(rate - (0.5 + 1 / 1024)) < 0.0006


def test_score_rarely_ties():
    torch.manual_seed(0)
    model = deep().eval()
    probs = model.score(windows(200, seed=3))
    assert probs.shape == (200,) and ((probs >= 0) & (probs <= 1)).all()
    ties = 200 - probs.unique().numel()
    assert ties < 10
    torch.testing.assert_close(
        arrhythmia_probability(model(windows(2)).logits), model.score(windows(2))
    )


def test_firing_rates_and_synaptic_operations():
    model = deep(encoding="rate", num_steps=10)
    activity = LayerActivity(
        input_spikes=torch.tensor([1000.0, 0.0]),
        layer_spikes=torch.tensor([[256.0, 128.0], [0.0, 0.0]]),
        num_steps=10,
    )
    # Mean over windows of spikes / (neurons * steps).
    rates = model.firing_rates(activity)
    torch.testing.assert_close(rates, torch.tensor([0.05, 0.05]))
    # Input spikes fan out to 256 neurons, lif1's to 128, lif2's to the 2 readouts.
    ops = model.synaptic_operations(activity)
    torch.testing.assert_close(ops, torch.tensor([1000 * 256 + 256 * 128 + 128 * 2.0, 0.0]))
    assert model.dense_macs_per_window == 0 and deep().dense_macs_per_window == 2500 * 256
    model(windows(2))
    assert model.last_activity.input_spikes.sum() > 0


def save_checkpoint(model, path):
    torch.save({"config": config_dict(model), "model_state_dict": model.state_dict()}, path)


def test_checkpoint_round_trip(tmp_path, monkeypatch):
    torch.manual_seed(0)
    model = deep(encoding="direct", dropout=0.3)
    with torch.no_grad():
        model.fc3.weight.mul_(5.0)  # not the default init, so loading matters
    path = tmp_path / "model.pt"
    save_checkpoint(model, path)
    calls = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(k) or real_load(*a, **k))
    loaded = load_model_as_deep(path)
    assert calls and all(k.get("weights_only") is True for k in calls)
    assert loaded.config == model.config
    x = windows(4)
    torch.testing.assert_close(loaded.eval()(x).logits, model.eval()(x).logits, atol=0, rtol=0)
    override = load_model_as_deep(str(path), dropout=0.5, beta=0.8)
    assert override.dropout == 0.5 and override.lif2.beta.item() == pytest.approx(0.8)
    from_dict = load_model_as_deep(real_load(path, weights_only=True))
    torch.testing.assert_close(from_dict.eval()(x).logits, model(x).logits, atol=0, rtol=0)


def test_checkpoint_missing_file(tmp_path):
    path = tmp_path / "nope.pt"
    with pytest.raises(ECGError, match=r"nope\.pt: checkpoint file not found") as err:
        load_model_as_deep(path)
    assert "\n" not in str(err.value)


def test_checkpoint_wrong_architecture(tmp_path):
    small = deep(hidden=(128, 128))
    path = tmp_path / "small.pt"
    torch.save({"config": config_dict(deep()), "model_state_dict": small.state_dict()}, path)
    with pytest.raises(
        ECGError,
        match=r"small\.pt.*fc1\.weight expected \(256, 2500\), "
        r"found \(128, 2500\)",
    ) as err:
        load_model_as_deep(path)
    assert "\n" not in str(err.value)
    torch.save({"config": {"arch": "shallow"}, "model_state_dict": small.state_dict()}, path)
    with pytest.raises(ECGError, match=r"small\.pt: wrong architecture: expected 'deep'"):
        load_model_as_deep(path)


def test_checkpoint_not_a_checkpoint(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"state": 1}, path)
    with pytest.raises(ECGError, match=r"weights\.pt: not a model checkpoint"):
        load_model_as_deep(path)
    junk = tmp_path / "junk.pt"
    junk.write_text("not a zip")
    with pytest.raises(ECGError, match=r"junk\.pt: not a PyTorch checkpoint"):
        load_model_as_deep(junk)


def test_bad_arguments():
    with pytest.raises(ECGError, match="encoding"):
        deep(encoding="latency")
    with pytest.raises(ECGError, match=r"\[B, 2500\]"):
        deep()(torch.zeros(2, 100))
