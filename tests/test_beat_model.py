import json

import pytest
import torch

from ecg.core.errors import ECGError
from ecg.features.layout import MAX_BEATS, STEP_BEAT, STEP_FEATURES, STEP_WINDOW
from ecg.models.base import COST_KEYS, ModelOutput
from ecg.models.beat_ann import BeatANN
from ecg.models.beat_snn import BeatSNN
from ecg.models.checkpoint import config_dict, config_from_dict, load_model
from ecg.models.configs import (
    CONFIGS,
    BeatANNConfig,
    BeatSNNConfig,
    DeepSNNConfig,
    LogRegConfig,
)
from ecg.models.deep_snn import DeepSNN
from ecg.models.encoding import level_crossings
from ecg.models.logreg import LogisticBaseline
from ecg.models.reference import ReferenceSNN
from ecg.models.registry import ARCHITECTURES, build_model, model_class
from ecg.models.spiking import SpikingNetwork
from ecg.train.loop import freeze
from ecg.train.losses import FocalLoss

NB, NW = STEP_BEAT, STEP_WINDOW  # beat part (zero on padding), window part (every step)
SMALL = {  # small configs so that every test stays fast
    "deep": DeepSNNConfig(input_size=50, hidden=(16, 8), num_steps=10),
    "beat": BeatSNNConfig(),
    "beat_ann": BeatANNConfig(),
    "logreg": LogRegConfig(),
}


def beat_snn(**config) -> BeatSNN:
    return BeatSNN(BeatSNNConfig(**config))


def beat_ann(**config) -> BeatANN:
    return BeatANN(BeatANNConfig(**config))


def logreg(**config) -> LogisticBaseline:
    return LogisticBaseline(LogRegConfig(**config))


def load_model_as(arch: str, path):
    return load_model(path, arch=arch)


@pytest.fixture(autouse=True)
def single_thread():
    # These models are tiny: on a busy machine intra-op threads cost 10-100x more than
    # they save.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def beat_inputs(batch: int, seed: int = 0, dtype=torch.float32, informative=None):
    """Stored-format inputs [B, MAX_BEATS * STEP_FEATURES]: 4-30 present beats with small
    centred values, zero padding, and the same window features at every step."""
    g = torch.Generator().manual_seed(seed)
    steps = torch.randn(batch, MAX_BEATS, STEP_FEATURES, generator=g, dtype=dtype) * 0.3
    count = torch.randint(4, 31, (batch,), generator=g)
    present = (torch.arange(MAX_BEATS)[None] < count[:, None]).to(dtype)
    steps[:, :, :NB] *= present[:, :, None]
    steps[:, :, 0] = present
    steps[:, :, NB:] = torch.randn(batch, 1, NW, generator=g, dtype=dtype)
    if informative is not None:  # one window feature carries the label
        steps[:, :, NB] = torch.where(informative[:, None] == 1, -1.0, 1.0).to(dtype) + 0.3 * (
            torch.randn(batch, 1, generator=g, dtype=dtype)
        )
    return steps.reshape(batch, -1)


def test_layers_and_config():
    for arch, cls in (("beat", BeatSNN), ("beat_ann", BeatANN), ("logreg", LogisticBaseline)):
        model = cls(CONFIGS[arch]())
        config = config_dict(model)
        assert config["arch"] == arch and ARCHITECTURES[arch] is cls
        assert json.loads(json.dumps(config)) == config
        rebuilt = build_model(config_from_dict(config, source="test"))
        assert type(rebuilt) is cls and rebuilt.config == model.config
        assert isinstance(model.fc1, torch.nn.Linear)
        freeze(model, ("fc1",))  # transfer stage 1
        assert not any(p.requires_grad for p in model.fc1.parameters())
    snn = beat_snn()
    assert isinstance(snn, SpikingNetwork)  # DeepSNN's LIF simulation, shared
    assert [(fc.in_features, fc.out_features) for fc in snn.fcs] == [
        (STEP_FEATURES * 4 * 20, 64),  # level-crossing events: 4 kinds x 20 levels per value
        (64, 32),
        (32, 4 + 6),  # per step: beat class (N, S, V, F) and rhythm (6 classes)
    ]
    assert beat_snn(encoding="analog").fc1.in_features == STEP_FEATURES
    assert snn.num_steps == MAX_BEATS and snn.dropout == 0.2 and snn.reset == "zero"
    assert [(fc.in_features, fc.out_features) for fc in beat_ann().fcs] == [
        (STEP_FEATURES, 64),
        (64, 32),
        (32, 4 + 6),
    ]
    assert (logreg().fc1.in_features, logreg().fc1.out_features) == (NW, 2)


def assert_window_from_beats_and_rhythm(out: ModelOutput, x: torch.Tensor) -> None:
    """The window is Normal only if the rhythm is sinus and every detected beat is N."""
    batch = len(x)
    present = x.view(batch, MAX_BEATS, STEP_FEATURES)[:, :, 0] != 0
    assert present.any(1).all() and not present.all()  # padding exists: the mask matters
    assert out.beat_logits.shape == (batch, MAX_BEATS, 4)
    assert out.rhythm_logits.shape == (batch, 6)
    torch.testing.assert_close(out.beat_logits, out.membrane[:, :, :4].transpose(0, 1))
    torch.testing.assert_close(out.rhythm_logits, out.membrane[:, :, 4:].mean(0))
    p_beat_n = torch.softmax(out.beat_logits.double(), -1)[..., 0]
    p_normal = torch.softmax(out.rhythm_logits.double(), -1)[:, 0] * torch.where(
        present, p_beat_n, torch.ones_like(p_beat_n)
    ).prod(1)
    p_window = torch.softmax(out.logits.double(), -1)[:, 1]
    torch.testing.assert_close(p_window, 1 - p_normal, atol=1e-5, rtol=0)


def test_beat_readout_at_step_t_reads_beats_up_to_t_only():
    # the time axis is the heart's: changing beat t + 1 leaves the classes of beats <= t alone
    torch.manual_seed(0)
    for model in (beat_snn().eval(), beat_ann().eval()):
        x = beat_inputs(4).view(4, MAX_BEATS, STEP_FEATURES)
        later = x.clone()
        later[:, 6:, : STEP_FEATURES - NW] += 0.7
        a, b = model(x).beat_logits, model(later).beat_logits
        torch.testing.assert_close(a[:, :6], b[:, :6], atol=0, rtol=0)
        assert not torch.equal(a[:, 6:], b[:, 6:])


def test_output_shapes_and_input_forms():
    x = beat_inputs(5)
    for cls in (BeatSNN, BeatANN, LogisticBaseline):
        torch.manual_seed(0)
        model = cls(cls.config_class()).eval()
        out = model(x)
        assert isinstance(out, ModelOutput) and out.logits.shape == (5, 2)
        steps = 1 if cls is LogisticBaseline else MAX_BEATS
        outputs = 2 if cls is LogisticBaseline else 10
        width = 32 if cls is BeatSNN else outputs  # BeatSNN: spikes of its last hidden layer
        assert out.membrane.shape == (steps, 5, outputs)
        assert out.spikes.shape == (steps, 5, width)
        if cls is LogisticBaseline:
            torch.testing.assert_close(out.logits, out.membrane.mean(0))
        else:
            assert_window_from_beats_and_rhythm(out, x)
        per_step = x.view(5, MAX_BEATS, STEP_FEATURES)
        torch.testing.assert_close(model(per_step).logits, out.logits)
        if cls is not BeatSNN:
            assert (out.spikes == 0).all()
        if cls is not LogisticBaseline:
            assert model(per_step[:, :10]).membrane.shape == (10, 5, outputs)
        with pytest.raises(ECGError, match=rf"\[B, {MAX_BEATS * STEP_FEATURES}\]"):
            model(torch.zeros(2, 500))
        probs = model.score(x)
        assert probs.shape == (5,) and ((probs >= 0) & (probs <= 1)).all()
    # Logistic regression reads the window features of step 0 only.
    model = logreg().eval()
    y = x.view(5, MAX_BEATS, STEP_FEATURES).clone()
    y[:, 1:] = 7.0
    y[:, 0, :NB] = -3.0
    torch.testing.assert_close(model(y).logits, model(x).logits)


@pytest.mark.parametrize(
    "encoding,reset", [("events", "zero"), ("events", "subtract"), ("analog", "zero")]
)
@pytest.mark.parametrize("training", [True, False])
def test_fast_path_matches_snntorch_reference(training, encoding, reset):
    # float64 so that rounding cannot flip a spike between the two paths.
    torch.manual_seed(0)
    model = beat_snn(encoding=encoding, reset=reset).double().train(training)
    with torch.no_grad():
        model.fc1.weight.mul_(8.0 if encoding == "events" else 1.0)  # sparse input: scale up
        model.fc2.weight.mul_(4.0)  # so that the last layer spikes too
    x = beat_inputs(6, dtype=torch.float64) * 2.0
    targets = torch.tensor([0, 1, 1, 0, 1, 0])
    weights = torch.randn(MAX_BEATS, 6, 32, dtype=torch.float64)
    results = []
    for reference in (True, False):
        model.zero_grad()
        torch.manual_seed(1)  # same dropout masks in both paths
        out = (ReferenceSNN(model) if reference else model)(x)
        loss = FocalLoss()(out.logits, targets) + (out.spikes * weights).sum()
        loss = loss + out.beat_logits[:, :, 2].sum() + out.rhythm_logits[:, 1].sum()
        loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters()}
        results.append((out, grads, model.last_activity))
    (ref, ref_grads, ref_act), (fast, fast_grads, fast_act) = results
    for field in ("spikes", "membrane", "logits", "beat_logits", "rhythm_logits"):
        torch.testing.assert_close(
            getattr(fast, field), getattr(ref, field).double(), atol=1e-5, rtol=0
        )
    assert set(ref_grads) == {f"fc{i}.{p}" for i in (1, 2, 3) for p in ("weight", "bias")}
    for name, grad in ref_grads.items():
        assert grad.abs().max() > 0, name
        torch.testing.assert_close(fast_grads[name], grad, atol=1e-5, rtol=0, msg=name)
    torch.testing.assert_close(fast_act.layer_spikes, ref_act.layer_spikes)
    assert (fast_act.layer_spikes.sum(0) > 0).all()  # every layer spikes: the test can fail
    assert fast.spikes.sum() > 0
    if encoding == "analog":
        assert fast_act.input_spikes is None and ref_act.input_spikes is None
    else:  # the sparse events the fast path reads are the dense ones the reference reads
        assert fast_act.input_spikes.sum() == model.encode(x).sum() > 0


def test_score_rarely_ties():
    # Two output spike counts tie often; a readout of 32 neurons' counts must not. (An
    # untrained network on sparse events is mostly silent, so this uses analog input; the
    # trained product's tie share is in metrics/cv.json.)
    torch.manual_seed(0)
    model = beat_snn(encoding="analog").eval()
    probs = model.score(beat_inputs(400, seed=3))
    assert 400 - probs.unique().numel() < 20  # < 5 %


def test_cost():
    x = beat_inputs(8, seed=1)
    present = x.view(8, MAX_BEATS, STEP_FEATURES)[:, :, 0].sum(1)
    torch.manual_seed(0)
    snn = beat_snn().train()
    with torch.no_grad():
        snn.fc1.weight.mul_(8.0)  # so that the first layer spikes on sparse events
    eff = snn.cost(x)
    assert snn.training  # mode restored
    assert set(eff) == {
        "spikes_per_window_lif1",
        "spikes_per_window_lif2",
        "firing_rate_lif1",
        "firing_rate_lif2",
        "spikes_per_window",
        "synops_per_window",
        "macs_per_window",
        "dense_macs_per_window",
        "beats_per_window",
        "input_events_per_window",
    }
    act = snn.last_activity
    spikes, events = act.layer_spikes, act.input_spikes
    assert eff["input_events_per_window"] == pytest.approx(events.mean().item())
    assert eff["spikes_per_window_lif1"] == pytest.approx(spikes[:, 0].mean().item())
    assert eff["spikes_per_window"] == pytest.approx(spikes.sum(1).mean().item())
    # input events fan out to 64 neurons, lif1's spikes to 32, lif2's to the 4 + 6 readouts
    assert eff["synops_per_window"] == pytest.approx(
        (events * 64 + spikes[:, 0] * 32 + spikes[:, 1] * 10).mean().item()
    )
    assert eff["spikes_per_window_lif1"] > 0 and events.min() > 0
    assert eff["beats_per_window"] == pytest.approx(present.mean().item())
    assert eff["macs_per_window"] == 0.0 and eff["dense_macs_per_window"] == 0.0
    analog = beat_snn(encoding="analog").cost(x)  # the values as currents: MACs on fc1
    assert analog["macs_per_window"] == pytest.approx(((NW + present * NB) * 64).mean().item())
    assert analog["dense_macs_per_window"] == MAX_BEATS * STEP_FEATURES * 64

    ann = beat_ann().cost(x)
    assert set(ann) == {
        "spikes_per_window",
        "synops_per_window",
        "macs_per_window",
        "dense_macs_per_window",
        "beats_per_window",
    }
    deep = 64 * 32 + 32 * (4 + 6)
    padded = (present < MAX_BEATS).double()
    want = ((NW + present * NB) * 64 + (present + padded) * deep).mean().item()
    assert ann["macs_per_window"] == pytest.approx(want)
    assert ann["dense_macs_per_window"] == MAX_BEATS * (STEP_FEATURES * 64 + deep)
    assert ann["synops_per_window"] == 0.0 and ann["spikes_per_window"] == 0.0
    lr = logreg().cost(x)
    assert set(lr) == set(ann) and lr["macs_per_window"] == NW * 2
    assert all(set(COST_KEYS) <= set(c) for c in (eff, ann, lr))  # one cost contract


def save(model, path, config=None):
    torch.save(
        {"config": config or config_dict(model), "model_state_dict": model.state_dict()}, path
    )


@pytest.mark.parametrize("arch", ["deep", "beat", "beat_ann", "logreg"])
def test_registry_checkpoint_round_trip(arch, tmp_path, monkeypatch):
    torch.manual_seed(0)
    model = build_model(SMALL[arch])
    with torch.no_grad():
        model.fc1.weight.mul_(3.0)  # not the default init, so loading matters
    path = tmp_path / f"{arch}.pt"
    save(model, path)
    calls = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(k) or real_load(*a, **k))
    loaded = load_model(path)
    assert calls and all(k.get("weights_only") is True for k in calls)
    assert type(loaded) is type(model) and loaded.config == model.config
    x = torch.randn(3, 50) if arch == "deep" else beat_inputs(3)
    torch.testing.assert_close(loaded.eval()(x).logits, model.eval()(x).logits, atol=0, rtol=0)
    from_dict = load_model(real_load(path, weights_only=True))
    torch.testing.assert_close(from_dict.eval()(x).logits, model(x).logits, atol=0, rtol=0)
    direct = load_model(str(path))
    assert direct.config == model.config
    if arch in ("beat", "beat_ann"):
        assert load_model(path, dropout=0.4).dropout == 0.4
    if arch == "beat":
        assert load_model(path, beta=0.8).lif2.beta.item() == pytest.approx(0.8)


def test_checkpoint_errors_name_the_file(tmp_path):
    ann = beat_ann(hidden=(16, 8))
    path = tmp_path / "mixed.pt"
    save(ann, path, config=config_dict(beat_snn()))  # SNN config, ANN weights of other sizes
    with pytest.raises(ECGError, match=r"mixed\.pt: wrong architecture"):
        load_model(path)
    with pytest.raises(ECGError, match=r"mixed\.pt: wrong architecture: expected 'beat_ann'"):
        load_model_as("beat_ann", path)
    save(beat_snn(), path)
    with pytest.raises(ECGError, match=r"mixed\.pt: wrong architecture: expected 'logreg'"):
        load_model_as("logreg", path)
    save(beat_snn(), path, config={**config_dict(beat_snn()), "arch": "transformer"})
    with pytest.raises(ECGError, match=r"mixed\.pt: unknown model architecture 'transformer'"):
        load_model(path)
    no_arch = {k: v for k, v in config_dict(beat_snn()).items() if k != "arch"}
    save(beat_snn(), path, config=no_arch)
    for load in (load_model, lambda p: load_model_as("beat", p)):
        with pytest.raises(
            ECGError, match=r"mixed\.pt: not a model checkpoint \(config has no 'arch'\)"
        ):
            load(path)
    save(beat_snn(), path, config={**config_dict(beat_snn()), "colour": "red"})
    with pytest.raises(ECGError, match=r"mixed\.pt: bad model config"):
        load_model(path)
    with pytest.raises(ECGError, match=r"nope\.pt: checkpoint file not found"):
        load_model(tmp_path / "nope.pt")
    torch.save({"state": 1}, path)
    with pytest.raises(ECGError, match=r"mixed\.pt: not a model checkpoint"):
        load_model(path)
    path.write_text("not a zip")
    with pytest.raises(ECGError, match=r"mixed\.pt: not a PyTorch checkpoint"):
        load_model(path)


def test_build_model_errors():
    with pytest.raises(ECGError, match="unknown model architecture 'rnn'"):
        model_class("rnn")
    with pytest.raises(ECGError, match="unknown model architecture 'rnn'"):
        config_from_dict({"arch": "rnn"}, source="x.pt")
    no_arch = {k: v for k, v in config_dict(logreg()).items() if k != "arch"}
    with pytest.raises(ECGError, match=r"^x\.pt: not a model checkpoint \(config has no 'arch'\)$"):
        config_from_dict(no_arch, source="x.pt")
    with pytest.raises(ECGError, match=r"x\.pt: bad model config: unknown key 'hidden'"):
        config_from_dict({**config_dict(logreg()), "hidden": [4]}, source="x.pt")
    with pytest.raises(ECGError, match="step_features"):
        beat_snn(step_features=5)
    assert type(build_model(DeepSNNConfig(input_size=20, hidden=(4,), num_steps=3))) is DeepSNN


@pytest.mark.parametrize("cls", [BeatSNN, BeatANN, LogisticBaseline])
def test_learns_a_separable_toy_set(cls):
    torch.manual_seed(0)
    labels = torch.arange(128) % 2
    x = beat_inputs(128, seed=5, informative=labels)
    model = cls(cls.config_class())
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-2)
    loss_fn = FocalLoss()
    # 80 steps: at 40, BeatSNN reached 0.5-1.0 depending on the seeds (measured on the
    # 49-value layout, seeds 0-2 x 5-6); at 80 every one of them >= 0.99
    for _ in range(80):
        loss = loss_fn(model(x).logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    accuracy = (model(x).logits.argmax(1) == labels).float().mean().item()
    assert accuracy > 0.85


def test_level_crossings_are_the_thermometer_bits_that_change():
    # The definition, written out one value at a time, against the vectorised encoder.
    g = torch.Generator().manual_seed(4)
    steps = torch.randn(3, 6, 2, generator=g) * 0.9
    present = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [0] * 6]).bool()
    step, levels = 0.25, 3
    events = level_crossings(steps, present, step, levels)
    assert events.shape == (3, 6, 2 * 4 * levels)
    want = torch.zeros_like(events)
    for b in range(3):
        last = max(int(present[b].sum()) - 1, 0)
        before = [0] * 2
        for t in range(6):
            for f in range(2):
                x = steps[b, min(t, last), f].item()
                q = max(-levels, min(levels, int(x / step)))  # int() truncates toward 0
                for k in range(1, levels + 1):
                    up_now, up_then = q >= k, before[f] >= k
                    down_now, down_then = q <= -k, before[f] <= -k
                    base = f * 4 * levels + k - 1
                    want[b, t, base] = float(up_now and not up_then)  # rose past +k
                    want[b, t, base + levels] = float(up_then and not up_now)  # fell below +k
                    want[b, t, base + 2 * levels] = float(down_now and not down_then)
                    want[b, t, base + 3 * levels] = float(down_then and not down_now)
                before[f] = q
    assert torch.equal(events, want) and events.sum() > 10
    assert events[1, 3:].sum() == 0  # padding holds the last beat: silent
    quiet = level_crossings(torch.full((1, 4, 2), 0.2), torch.ones(1, 4).bool(), step, levels)
    assert quiet.sum() == 0  # values within one step of 0 are silent
