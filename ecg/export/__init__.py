"""The trained spiking networks in forms other tools run: a NIR graph of standard LIF neurons
(`nir`; tests run it in snnTorch and Norse) and a TorchScript module (`torch.jit.load`, no
Python package needed).

Reads `ecg.models` only.
"""
