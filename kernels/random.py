"""Triton kernels for the raw RNG streams: Philox words, uniforms and normals of counters
``offset + i`` (seed and offset read from int64 tensors, so they never trigger a recompile)."""

import triton
import triton.language as tl


@triton.jit
def philox_words_kernel(out_ptr, n, seed_ptr, offset_ptr, BLOCK: tl.constexpr):
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = idx < n
    seed = tl.load(seed_ptr)
    w0, w1, w2, w3 = tl.randint4x(seed, tl.load(offset_ptr) + idx)
    tl.store(out_ptr + 4 * idx, w0.to(tl.int32, bitcast=True), mask=mask)
    tl.store(out_ptr + 4 * idx + 1, w1.to(tl.int32, bitcast=True), mask=mask)
    tl.store(out_ptr + 4 * idx + 2, w2.to(tl.int32, bitcast=True), mask=mask)
    tl.store(out_ptr + 4 * idx + 3, w3.to(tl.int32, bitcast=True), mask=mask)


@triton.jit
def uniform_kernel(out_ptr, n, seed_ptr, offset_ptr, BLOCK: tl.constexpr):
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    tl.store(out_ptr + idx, tl.rand(tl.load(seed_ptr), tl.load(offset_ptr) + idx), mask=idx < n)


@triton.jit
def normal_kernel(out_ptr, n, seed_ptr, offset_ptr, BLOCK: tl.constexpr):
    idx = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    tl.store(out_ptr + idx, tl.randn(tl.load(seed_ptr), tl.load(offset_ptr) + idx), mask=idx < n)
