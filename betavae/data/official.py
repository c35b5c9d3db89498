"""Checks shared by the loaders of the benchmark datasets' official files (shapes3d.py, mpi3d.py,
smallnorb.py, cars3d.py): the factor grid a file must hold, factor classes recovered from label
values, and the order of a complete grid. Every failure is a DatasetFileError naming the file."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .base import grid_classes
from .checks import DatasetFileError


def grid_sizes(path, official: Sequence[int], factor_sizes: Sequence[int] | None) -> list[int]:
    """The factor grid to expect: the official one, or ``factor_sizes`` when a caller (the tests,
    on small generated files) asks for another explicitly; never inferred from the file."""
    if factor_sizes is None:
        return list(official)
    sizes = [int(s) for s in factor_sizes]
    if len(sizes) != len(official) or min(sizes) < 1:
        raise DatasetFileError(
            path, f"factor_sizes must be {len(official)} positive sizes (official {list(official)})"
        )
    return sizes


def check_count(path, n: int, sizes: Sequence[int], what: str = "images") -> None:
    expected = int(np.prod(sizes))
    if n != expected:
        raise DatasetFileError(
            path, f"holds {n:,} {what}; the factor grid {list(sizes)} needs {expected:,}"
        )


def classes_from_labels(path, labels: np.ndarray, sizes: Sequence[int], names) -> np.ndarray:
    """``(N, K)`` int64 classes: each label column's distinct values, in increasing order, are
    its classes; a column with another number of distinct values than its factor, or with NaN
    or infinite values, is refused."""
    bad = ~np.isfinite(labels)
    if bad.any():
        row, k = (int(i[0]) for i in np.nonzero(bad))
        raise DatasetFileError(
            path, f"factor {names[k]!r} has a non-finite label {labels[row, k]} (image {row})"
        )
    classes = np.empty(labels.shape, np.int64)
    for k, (size, name) in enumerate(zip(sizes, names)):
        values, inverse = np.unique(labels[:, k], return_inverse=True)
        if len(values) != size:
            raise DatasetFileError(
                path, f"factor {name!r} takes {len(values)} distinct values; expected {size}"
            )
        classes[:, k] = inverse.reshape(-1)
    return classes


def check_grid_order(path, classes: np.ndarray, sizes: Sequence[int], names) -> None:
    """Every combination exactly once, in mixed-radix order with the last factor fastest."""
    expected = grid_classes(sizes)
    if classes.shape != expected.shape or not np.array_equal(classes, expected):
        wrong = np.nonzero((classes != expected).any(axis=1))[0]
        row = int(wrong[0]) if len(wrong) else 0
        raise DatasetFileError(
            path,
            f"the factor grid is not complete in the official order ({', '.join(names)}, the last "
            f"varying fastest): image {row} has classes {classes[row].tolist()}, expected "
            f"{expected[row].tolist()}",
        )


def grid_order(path, classes: np.ndarray, sizes: Sequence[int], names) -> np.ndarray:
    """The permutation that puts images with classes ``classes`` into grid order; refused
    unless every combination occurs exactly once."""
    sizes_arr = np.asarray(sizes)
    if (classes < 0).any() or (classes >= sizes_arr).any():
        k = int(np.nonzero(((classes < 0) | (classes >= sizes_arr)).any(axis=0))[0][0])
        raise DatasetFileError(
            path, f"factor {names[k]!r} has a class outside [0, {sizes[k]}): {classes[:, k].max()}"
        )
    strides = np.cumprod([1, *sizes[::-1][:-1]])[::-1]
    flat = classes @ strides
    counts = np.bincount(flat, minlength=int(np.prod(sizes)))
    if (counts != 1).any():
        missing, repeated = int((counts == 0).sum()), int((counts > 1).sum())
        raise DatasetFileError(
            path,
            f"the factor grid {list(sizes)} is not complete: {missing} combinations missing, "
            f"{repeated} repeated",
        )
    return np.argsort(flat, kind="stable")
