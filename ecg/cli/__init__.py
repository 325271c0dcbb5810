"""`ecg-snn`, the command line for users: score recordings with the pipeline's final model
(`ecg-snn predict`) and export it for other simulators and runtimes (`ecg-snn export`).

The top layer of the package: it reads `ecg.inference` and `ecg.export`, never the training
code or params.yaml, so the user's recordings are scored exactly as the model card says.
"""
