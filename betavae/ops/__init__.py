"""Fused loss ops of the β-VAE objective, each a ``torch.library`` custom op with autograd.

    z, kl = gaussian_sample_kl(mu, logvar, seed, offset=0, backend="auto")
    nll   = bernoulli_nll(logits, target, backend="auto")
    eps   = standard_normal(shape, seed, offset=0, device=None, backend="auto")
    available_backends()

Backends: ``reference`` (pure PyTorch, :mod:`betavae.ops.reference`), ``cpu`` (C++/OpenMP),
``cuda`` (CUDA C++), ``triton`` (Triton; on CPU tensors only under ``TRITON_INTERPRET=1``).
"""

from .backends import available_backends
from .bernoulli_nll import bernoulli_nll
from .gaussian_sample_kl import gaussian_sample_kl
from .standard_normal import standard_normal

__all__ = ["available_backends", "bernoulli_nll", "gaussian_sample_kl", "standard_normal"]
