import math

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from ecg.core.errors import ECGError
from ecg.data.beat_labels import EXTRA, PADDING
from ecg.models.base import ModelOutput
from ecg.train.losses import FocalLoss, TaskLoss, multiclass_focal


def test_gamma0_alpha_half_is_half_cross_entropy():
    torch.manual_seed(0)
    logits = torch.randn(64, 2, dtype=torch.float64) * 3
    targets = torch.randint(0, 2, (64,))
    loss = FocalLoss(alpha=0.5, gamma=0.0)(logits, targets)
    assert loss.item() == pytest.approx(0.5 * F.cross_entropy(logits, targets).item(), rel=1e-12)


def test_gamma2_hand_computed():
    # Both rows give p(Arrhythmia) = 3/4.
    logits = torch.tensor([[0.0, math.log(3.0)], [0.0, math.log(3.0)]], dtype=torch.float64)
    targets = torch.tensor([1, 0])
    # Row 1: p_t = 3/4, alpha_t = 0.75: 0.75 * (1/4)^2 * ln(4/3) = 0.013485097...
    # Row 2: p_t = 1/4, alpha_t = 0.25: 0.25 * (3/4)^2 * ln(4)   = 0.194947649...
    expected = (0.75 * 0.0625 * 0.28768207245178090 + 0.25 * 0.5625 * 1.3862943611198906) / 2
    loss = FocalLoss(alpha=0.75, gamma=2.0)(logits, targets)
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.10421637, rel=1e-7)


def test_alpha_weights_arrhythmia_class():
    # Mirror-image mistakes: the Arrhythmia one must cost alpha / (1 - alpha) = 3x more.
    fl = FocalLoss(alpha=0.75, gamma=2.0)
    missed_arrhythmia = fl(torch.tensor([[2.0, -1.0]]), torch.tensor([1]))
    false_alarm = fl(torch.tensor([[-1.0, 2.0]]), torch.tensor([0]))
    assert missed_arrhythmia.item() == pytest.approx(3 * false_alarm.item(), rel=1e-6)
    only_arrhythmia = FocalLoss(alpha=1.0, gamma=2.0)
    assert only_arrhythmia(torch.tensor([[-1.0, 2.0]]), torch.tensor([0])).item() == 0.0


def test_gamma_down_weights_easy_examples():
    easy, hard = torch.tensor([[-3.0, 3.0]]), torch.tensor([[0.5, -0.5]])
    target = torch.tensor([1])
    ce = FocalLoss(alpha=0.5, gamma=0.0)
    fl = FocalLoss(alpha=0.5, gamma=2.0)
    assert fl(easy, target) / ce(easy, target) < 1e-4
    assert fl(hard, target) / ce(hard, target) > 0.3


def test_confident_logits_give_finite_gradient():
    logits = torch.tensor([[-60.0, 60.0], [60.0, -60.0]], requires_grad=True)
    loss = FocalLoss(alpha=0.75, gamma=0.5)(logits, torch.tensor([1, 0]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"alpha": 1.5}, "alpha"), ({"alpha": -0.1}, "alpha"), ({"gamma": -1.0}, "gamma")],
)
def test_invalid_parameters(kwargs, name):
    with pytest.raises(ECGError, match=name):
        FocalLoss(**kwargs)


def test_shape_mismatch():
    with pytest.raises(ValueError, match="logits"):
        FocalLoss()(torch.zeros(4, 3), torch.zeros(4, dtype=torch.int64))


# --- the beat models' three losses ---------------------------------------------------------


def heads_output(batch: int = 3, steps: int = 5) -> ModelOutput:
    g = torch.Generator().manual_seed(0)
    beats = torch.randn(batch, steps, 4, generator=g, requires_grad=True)
    rhythm = torch.randn(batch, 6, generator=g, requires_grad=True)
    window = torch.randn(batch, 2, generator=g, requires_grad=True)
    return ModelOutput(torch.zeros(1), torch.zeros(1), window, beats, rhythm)


def test_task_loss_trains_labelled_n_s_v_f_beats_only():
    out = heads_output()
    labels, rhythms = torch.tensor([0, 1, 1]), torch.tensor([0, 2, 5])
    codes = torch.full((3, 5), PADDING)
    codes[0, :3] = torch.tensor([0, 1, EXTRA])
    codes[1, :2] = torch.tensor([4, 2])  # a Q beat: not learned
    loss = TaskLoss(alpha=0.75, gamma=2.0, beat_weight=1.0, rhythm_weight=0.5)
    total = loss(out, labels, codes, rhythms)
    total.backward()
    trained = torch.zeros(3, 5, dtype=torch.bool)
    trained[0, :2] = trained[1, 1] = True
    assert (out.beat_logits.grad.abs().sum(-1) > 0).eq(trained).all()
    assert (out.rhythm_logits.grad.abs().sum(-1) > 0).all()
    beat = multiclass_focal(out.beat_logits[trained], codes[trained], gamma=2.0)
    rhythm = multiclass_focal(out.rhythm_logits, rhythms, gamma=2.0)
    window = FocalLoss(alpha=0.75, gamma=2.0)(out.logits, labels)
    torch.testing.assert_close(total, window + beat + 0.5 * rhythm)


def test_task_loss_without_beat_labels_or_readouts_is_the_window_loss():
    out = heads_output()
    labels = torch.tensor([0, 1, 1])
    loss = TaskLoss(alpha=0.75, gamma=2.0, beat_weight=1.0, rhythm_weight=0.5)
    window = FocalLoss(alpha=0.75, gamma=2.0)(out.logits, labels)
    torch.testing.assert_close(loss(out, labels), window)  # synthetic data: no labels
    plain = out._replace(beat_logits=None, rhythm_logits=None)  # DeepSNN, logreg
    codes = torch.zeros(3, 5, dtype=torch.int64)
    torch.testing.assert_close(
        loss(plain, labels, codes, torch.zeros(3, dtype=torch.int64)), window
    )


def test_class_weights_scale_each_beat_class():
    logits = torch.zeros(2, 4)
    targets = torch.tensor([0, 1])
    weights = torch.tensor([1.0, 3.0, 1.0, 1.0])
    per_item = -math.log(0.25) * 0.75**2
    # equal per-item losses: the weighted mean is that loss, whatever the weights
    torch.testing.assert_close(
        multiclass_focal(logits, targets, gamma=2.0, weights=weights), torch.tensor(per_item)
    )
    logits = torch.tensor([[2.0, 0, 0, 0], [0.0, 0, 0, 0]])  # the S beat is the harder one
    light = multiclass_focal(logits, targets, gamma=0.0)
    heavy = multiclass_focal(logits, targets, gamma=0.0, weights=weights)
    assert heavy > light
