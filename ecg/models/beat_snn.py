"""BeatSNN: a spiking network whose time axis is the heart's: step t is detected beat t.

    input [B, T * F] or [B, T, F] -> events [T, B, C] -> [Linear -> Leaky] x hidden -> Linear

With `encoding: events` (the product) every value of the layout reaches the network as
level-crossing events (`ecg.models.encoding.level_crossings`): an ordinary beat is silent, a
beat that differs from the one before is a burst, and the window's features are events at the
first step. Every layer then does accumulates driven by spikes (SynOps), none does
multiply-accumulates. `encoding: analog` feeds the values as currents instead (MACs on the
first layer). Neurons: `ecg.models.spiking`. The readout of the last hidden layer's spikes at
step t gives beat t's class; averaged over the steps, the window's rhythm; the window flag
is derived from both (`ecg.models.heads`).

Example::

    model = BeatSNN(BeatSNNConfig(num_steps=32, step_features=49, hidden=(64, 32)))
    probability = model.score(beat_layout_rows)  # [B]
"""

from __future__ import annotations

import torch
from torch import Tensor

from ecg.features.layout import BEAT_FEATURES
from ecg.models.base import ModelOutput
from ecg.models.beat_steps import as_steps, first_layer_macs, present_beats
from ecg.models.configs import BeatSNNConfig
from ecg.models.encoding import crossing_events, held_levels, level_crossings
from ecg.models.heads import init_prior, read_heads
from ecg.models.registry import register
from ecg.models.spiking import Prepared, SpikingNetwork

PRESENT = BEAT_FEATURES.index("present")  # non-zero on a detected beat, 0 on padding


@register
class BeatSNN(SpikingNetwork):
    config_class = BeatSNNConfig
    input_kind = "beats"

    def __init__(self, config: BeatSNNConfig) -> None:
        super().__init__()
        self.config = config
        self.num_steps, self.step_features = config.num_steps, config.step_features
        self.encoding = config.encoding
        width = config.step_features * (4 * config.event_levels if self.events else 1)
        self._build_layers(
            [width, *config.hidden, config.beat_classes + config.rhythm_classes],
            beta=config.beta,
            threshold=config.threshold,
            surrogate_slope=config.surrogate_slope,
            dropout=config.dropout,
            reset=config.reset,
        )
        init_prior(self.fcs[-1], config.beat_classes)
        if self.events:
            # Default init scales by 1/sqrt(fan-in), but at most a few of the channels of a
            # value fire at a step: initialise as if fc1 read the values themselves, or the
            # network starts silent and gets no gradient.
            with torch.no_grad():
                self.fc1.weight.mul_((width / config.step_features) ** 0.5)

    def outputs(self, p: Prepared, spikes: Tensor, readout: Tensor) -> ModelOutput:
        """Beat t's class from the readout at step t, the rhythm from its mean, the window
        flag from both (`ecg.models.heads`)."""
        heads = read_heads(readout, p.x[:, :, PRESENT] != 0, self.config.beat_classes)
        return ModelOutput(spikes, readout, heads.window, heads.beats, heads.rhythm)

    @property
    def events(self) -> bool:
        return self.encoding == "events"

    def encode(self, x: Tensor) -> Tensor:
        """Stored `[B, T * F]` input -> per-step input `[B, T, C]`: the layout's values, or
        their events (dense; the network itself reads them sparse)."""
        steps = as_steps(self.in_precision(x), self.num_steps, self.step_features)
        if not self.events:
            return steps
        c = self.config
        return level_crossings(steps, steps[:, :, PRESENT] != 0, c.event_step, c.event_levels)

    def prepare(self, x: Tensor) -> Prepared:
        steps = as_steps(self.in_precision(x), self.num_steps, self.step_features)
        masks = self.dropout_masks(steps.shape[0], steps)
        if not self.events:
            return Prepared(steps, steps.transpose(0, 1), steps.shape[1], masks, None)
        c = self.config
        level = held_levels(steps, steps[:, :, PRESENT] != 0, c.event_step, c.event_levels)
        events = crossing_events(level, c.event_levels)
        per_window = torch.bincount(events[1], minlength=steps.shape[0]).to(steps.dtype)
        return Prepared(steps, None, steps.shape[1], masks, per_window, events)

    @property
    def dense_macs_per_window(self) -> int:
        """First-layer MACs evaluated naively at all `num_steps` steps (analog input)."""
        return 0 if self.events else self.num_steps * self.step_features * self.hidden[0]

    @torch.no_grad()
    def cost(self, x: Tensor) -> dict[str, float]:
        """Spikes per layer, SynOps (input events included), and for analog input the first
        layer's MACs on present beats only, per window."""
        out = self.spike_cost(x)
        steps = as_steps(self.in_precision(x), self.num_steps, self.step_features)
        macs = 0.0 if self.events else float(first_layer_macs(steps, self.hidden[0]).mean())
        out["macs_per_window"] = macs
        out["dense_macs_per_window"] = float(self.dense_macs_per_window)
        out["beats_per_window"] = float(present_beats(steps).mean())
        if self.events:
            out["input_events_per_window"] = float(self.last_activity.input_spikes.mean())
        return out
