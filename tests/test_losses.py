import math

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from ecg.core.errors import ECGError
from ecg.train.losses import FocalLoss


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
