"""Process-wide CPU settings for training, applied when ``betavae.train.train`` starts (before its
first parallel region, so that OpenMP workers, which copy the floating-point mode of the thread
that starts them, inherit it). Importing betavae changes none of them.

- Denormal floats run ~4× slower on x86. Once a model is confident, the BCE gradient
  sigmoid(x) − t underflows into denormals that flow through the decoder's backward pass: the
  generator's training fell from 1,460 to 300 images/s over 8k steps and ran at 1,300 from the same
  checkpoint with flushing. Flushed values are below 1.2e-38: no effect beyond the last bit.
- glibc's malloc hands freed blocks of more than a few hundred KB back to the operating system and
  page-faults fresh ones in on the next allocation: a training step frees and re-allocates tens of
  MB of activations, so every step paid for zeroed pages again (two live 1 MB buffers cost 570 us
  instead of 27 us here). Keeping freed memory in the heap (what jemalloc and tcmalloc do, and
  what PyTorch's CPU performance guide recommends) removes that cost; the heap keeps what the
  largest step needed.

Nothing here changes a computed value; the benchmarks' plain-PyTorch baseline runs without it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

import torch

# glibc mallopt parameters (malloc.h) and the values set.
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
MMAP_THRESHOLD = 32 * 2**20  # glibc's largest allowed value on 64-bit
TRIM_THRESHOLD = 1024 * 2**20
TOP_PAD = 64 * 2**20


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed memory for reuse; False where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018 (raises AttributeError off glibc, e.g. musl)
    except (OSError, AttributeError):
        return False
    settings = ((M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    ok = all(libc.mallopt(param, value) == 1 for param, value in settings)
    return ok and libc.mallopt(M_TOP_PAD, TOP_PAD) == 1


def tune_cpu_process() -> None:
    """Flush denormals and keep freed memory (see the module docstring)."""
    torch.set_flush_denormal(True)
    keep_freed_memory()


def threads_per_run(runs: int, cores: int | None = None) -> int:
    """Threads for each of ``runs`` trainings sharing this machine: an equal share of the cores
    (``torch.get_num_threads()`` by default), at least one."""
    cores = torch.get_num_threads() if cores is None else cores
    return max(1, cores // runs)
