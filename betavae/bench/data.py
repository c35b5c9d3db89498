"""``python -m betavae.bench data``: batch-sampler throughput (random batches of 64 from the whole
dataset, unpacked on the device), the number to compare with a training step's time."""

from __future__ import annotations

import torch

from betavae.data import BatchSampler, get_dataset

from .report import markdown_table, text_table
from .timing import time_fn


def run(
    device: str = "cpu", datasets: tuple[str, ...] = ("dsprites", "blobs"), batch_size: int = 64
) -> tuple[str, str]:
    dev = torch.device(device)
    rows = []
    for name in datasets:
        data = get_dataset(name, **({"quiet": True} if "dsprites" in name else {}))
        sampler = BatchSampler(data, dev, seed=0)
        for dtype in (torch.uint8, torch.float32):
            timing = time_fn(
                lambda s=sampler, d=dtype: s.sample(batch_size, d), dev, repeats=7, min_time_s=0.1
            )
            rows.append(
                [
                    name,
                    str(dtype).replace("torch.", ""),
                    batch_size,
                    f"{timing.median_s * 1e6:.1f}",
                    f"{timing.spread_s * 1e6:.1f}",
                    f"{batch_size / timing.median_s:,.0f}",
                ]
            )
    headers = ["dataset", "dtype", "batch", "median us/batch", "IQR us", "images/s"]
    env = f"torch {torch.__version__}, device {dev}, {torch.get_num_threads()} threads"
    markdown = "\n\n".join(["# Batch sampler benchmark", env + ".", markdown_table(headers, rows)])
    return env + "\n" + text_table(headers, rows), markdown
