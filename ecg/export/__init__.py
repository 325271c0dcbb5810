"""The trained spiking networks in forms other tools run: a NIR graph (`nir`, for other
simulators and neuromorphic chips) with a small reference interpreter of its semantics, and
a TorchScript module (`torch.jit.load`, no Python package needed).

Reads `ecg.models` only.
"""
