"""The DVC pipeline's stages: one thin entry point per stage (`python -m stages.NAME`), each
parsing its flags, calling the library (`ecg`) and writing only its own outputs."""
