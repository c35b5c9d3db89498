"""Triton kernels of the fused ops (installed as ``betavae.kernels``).

Same math as csrc/elementwise.h and the same RNG contract as csrc/philox.h (Triton's own
``tl.randint4x``/``tl.randn``), fp32 accumulation. On the CPU they run only under
``TRITON_INTERPRET=1`` (set before this package is imported), which is how CI tests them; the
interpreter has no libdevice, so log1p is written with log (see ``elementwise.log1p_unit``).
"""
