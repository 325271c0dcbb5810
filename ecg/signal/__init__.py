"""Single-lead ECG as arrays at an explicit sampling rate `fs`: conditioning (resample,
band-pass and notch, normalise), windowing, QRS detection, signal quality, and NSTDB noise
for stress tests. Nothing here knows a database, a label or a model; every duration is in
seconds or Hz, so each function holds at any sampling rate."""
