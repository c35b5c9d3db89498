"""The trainer's process-wide CPU settings (betavae/process_tuning.py) take effect, and the
benchmarks' plain-PyTorch baseline runs without them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import betavae

ROOT = str(Path(betavae.__file__).resolve().parents[1])

# In a fresh process: is a freshly allocated 4 MB tensor mmapped (glibc's default for blocks over
# 128 KB) or taken from the heap? mallinfo2().hblks counts the mmapped blocks.
PROBE = """
import ctypes, sys
sys.path.insert(0, {root!r})
import torch

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
{setup}
before = libc.mallinfo2().hblks
block = torch.empty(2**20)  # 4 MB
print(libc.mallinfo2().hblks - before)
"""


def _mmapped_blocks_for_4mb(setup: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(root=ROOT, setup=setup)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stdout.split()[-1])


glibc_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="glibc malloc settings (Linux)"
)


@glibc_only
def test_training_keeps_freed_memory_in_the_heap():
    assert _mmapped_blocks_for_4mb("") == 1  # glibc's default: its own mapping, page-faulted
    # Importing the trainer changes nothing in the process; starting a training tunes it.
    assert _mmapped_blocks_for_4mb("import betavae.train") == 1
    started = (
        "import betavae.train as t, betavae.process_tuning as p\n"
        "t.set_up = lambda *a: (_ for _ in ()).throw(ValueError('stop after tuning'))\n"
        "try:\n    t.train(t.config_from({'data': 'blobs'}))\nexcept ValueError:\n    pass"
    )
    assert _mmapped_blocks_for_4mb(started) == 0  # from the heap, reused


@glibc_only
def test_keep_freed_memory_reports_success_on_glibc():
    from betavae.process_tuning import keep_freed_memory

    assert keep_freed_memory() is True


def test_the_benchmarks_plain_loop_gets_no_tuning():
    """The plain loop's process imports betavae.bench.train; it must not import betavae.train."""
    code = (
        f"import sys; sys.path.insert(0, {ROOT!r}); import betavae.bench.train; "
        "print('betavae.train' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"
