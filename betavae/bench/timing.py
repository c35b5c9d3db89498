"""Timing and memory measurement shared by the benchmarks: warm-up, repeated timed runs, median and
spread; CUDA events on GPU tensors; a same-run memory-copy bandwidth as the yardstick."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass
class Timing:
    median_s: float
    p25_s: float
    p75_s: float

    @property
    def spread_s(self) -> float:
        """Interquartile range of the repetitions."""
        return self.p75_s - self.p25_s


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_fn(
    fn: Callable[[], object],
    device: torch.device,
    repeats: int = 7,
    min_time_s: float = 0.05,
    warmup: int = 2,
) -> Timing:
    """Per-call time of ``fn``: each repetition runs enough calls to last ``min_time_s``."""
    return time_interleaved({"fn": fn}, device, repeats, min_time_s, warmup)["fn"]


def time_interleaved(
    fns: dict[str, Callable[[], object]],
    device: torch.device,
    repeats: int = 7,
    min_time_s: float = 0.05,
    warmup: int = 2,
) -> dict[str, Timing]:
    """Per-call times of several functions measured in turns: repetition r of every function runs
    before repetition r + 1 of any, so slow drifts of the machine hit all of them alike. Each
    repetition runs enough calls to last ``min_time_s``."""
    calls = {}
    for name, fn in fns.items():
        for _ in range(warmup):
            fn()
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        calls[name] = max(1, int(min_time_s / max(time.perf_counter() - start, 1e-7)))
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            samples[name].append(_time_calls(fn, calls[name], device))
    timings = {}
    for name, values in samples.items():
        quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
        timings[name] = Timing(statistics.median(values), quartiles[0], quartiles[2])
    return timings


def _time_calls(fn: Callable[[], object], calls: int, device: torch.device) -> float:
    """Seconds per call over ``calls`` back-to-back calls (CUDA events on a GPU)."""
    if device.type == "cuda":
        begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        begin.record()
        for _ in range(calls):
            fn()
        end.record()
        end.synchronize()
        return begin.elapsed_time(end) / 1e3 / calls
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def copy_bandwidth(device: torch.device, megabytes: int = 256) -> float:
    """Bytes/s of a large tensor copy (read + write counted), measured now on ``device``."""
    n = megabytes * 2**20 // 4
    src = torch.rand(n, device=device)
    dst = torch.empty_like(src)
    timing = time_fn(lambda: dst.copy_(src), device, repeats=5, min_time_s=0.2)
    return 2 * src.numel() * src.element_size() / timing.median_s


def allocated_bytes(fn: Callable[[], object], device: torch.device) -> int:
    """Peak extra memory of one call of ``fn``: CUDA peak above the baseline on GPUs; on the CPU
    (where torch keeps no peak statistic) the sum of bytes allocated during the call."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        fn()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - base
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    return sum(max(0, e.cpu_memory_usage) for e in prof.events() if e.cpu_memory_usage)
