"""The models, each built from its config dataclass (`configs`) and registered by name
(`registry`): the design's `DeepSNN` over whole windows (their beat-synchronous view or the
raw signal), `BeatSNN` over detected beats, and the non-spiking baselines `BeatANN` and
`LogisticBaseline`. `lif` is the fast leaky integrate-and-fire kernel shared by the spiking
models (`spiking`), `reference` the step-by-step snnTorch loop it is tested against,
`checkpoint` the one way to save and load any of them. Models know nothing of data files or
training."""
