import ecg  # noqa: F401  (first: pins the numerical kernels, see ecg/__init__.py)
