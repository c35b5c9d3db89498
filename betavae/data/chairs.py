"""3D Chairs import: a folder of rendered chair images (Aubry et al. 2014) → a chunked HDF5 that
``get_dataset(path)`` loads. Each image is centre-cropped to a square, resized to 64×64 with Pillow
and stored as grey (default) or RGB. The dataset has no ground-truth factors."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import h5py
import numpy as np
from PIL import Image
from tqdm import tqdm

from betavae.atomic import atomic_path

from .files import create_images

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
MAX_PIXELS = 64_000_000  # larger renders are refused (a decompression bomb, not a chair)
OUTPUT_SUFFIXES = (".h5", ".hdf5")


def _prepare(path: Path, crop: int | None, rgb: bool, size: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(path)
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise ValueError(f"import-chairs: {path} is refused: {exc}") from None
    with img:
        if img.width * img.height > MAX_PIXELS:
            raise ValueError(
                f"import-chairs: {path} has {img.width}×{img.height} pixels, more than "
                f"{MAX_PIXELS:,} (a decompression bomb?); refused"
            )
        img = img.convert("RGB" if rgb else "L")
        w, h = img.size
        side = min(w, h) if crop is None else min(crop, w, h)
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side)).resize((size, size), Image.LANCZOS)
        return np.asarray(img, dtype=np.uint8)


def import_chairs(
    folder: os.PathLike | str,
    out: os.PathLike | str,
    rgb: bool = False,
    crop: int | None = 400,
    size: int = 64,
    quiet: bool = False,
) -> Path:
    """Convert every image under ``folder`` (recursively, sorted) into ``out`` (HDF5, atomic)."""
    folder, out = Path(folder), Path(out)
    if not folder.is_dir():
        raise ValueError(f"import-chairs: {folder} is not a directory")
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ValueError(
            f"import-chairs: the output {out} must end in .h5 or .hdf5 (it is written as HDF5)"
        )
    if out.is_dir():
        raise ValueError(f"import-chairs: the output {out} is a directory; name a file")
    if crop is not None and crop < 1:
        raise ValueError(f"import-chairs: --crop must be >= 1 pixel; got {crop}")
    if size < 1:
        raise ValueError(f"import-chairs: size must be >= 1; got {size}")
    # regular files only: a FIFO or device named *.png would block or stream forever
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())
    if not files:
        raise ValueError(
            f"import-chairs: no images ({', '.join(sorted(EXTENSIONS))}) under {folder}"
        )
    shape = (len(files), size, size, 3) if rgb else (len(files), size, size)
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as f:
        dset = create_images(f, shape)
        for i, path in enumerate(tqdm(files, desc="importing chairs", disable=quiet)):
            try:
                dset[i] = _prepare(path, crop, rgb, size)
            except (OSError, Image.DecompressionBombError) as exc:
                raise ValueError(f"import-chairs: cannot read image {path}: {exc}") from exc
        f.attrs["source"] = str(folder)
        f.attrs["files"] = len(files)
    return out
