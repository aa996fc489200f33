"""The program's sound: the mix on the program clock, the bed, and the loudness DSP.

The DSP modules (levels, meter, normaliser, limiter) are pure: NumPy and pyebur128 only, no
render-worker imports, each a small class that keeps its state across blocks of (n, 2)
float32 samples at 48 kHz. Nothing is imported here, so importing one module stays cheap.
See docs/render.md, "Program audio DSP".
"""
