// CPU loops for the raw RNG streams (Philox words, uniforms, normals), used by standard_normal and
// by the tests that pin every backend to the same noise.
#include "../philox.h"
#include "cpu_ops.h"
#include "normal_loop.h"
#include "parallel.h"

BV_NAMESPACE_BEGIN
namespace cpu {
namespace {

void words_chunk(uint32_t* __restrict out, int64_t begin, int64_t end, uint64_t seed,
                 uint64_t offset) {
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) {
    uint32_t w0, w1, w2, w3;
    betavae::philox_words(seed, offset + static_cast<uint64_t>(i), w0, w1, w2, w3);
    out[4 * i] = w0;
    out[4 * i + 1] = w1;
    out[4 * i + 2] = w2;
    out[4 * i + 3] = w3;
  }
}

void uniform_chunk(float* __restrict out, int64_t begin, int64_t end, uint64_t seed,
                   uint64_t offset) {
#pragma omp simd
  for (int64_t i = begin; i < end; ++i) {
    uint32_t w0, w1, w2, w3;
    betavae::philox_words(seed, offset + static_cast<uint64_t>(i), w0, w1, w2, w3);
    out[i] = uniform_from_word(w0);
  }
}

void normal_chunk(float* __restrict out, int64_t begin, int64_t end, uint64_t seed,
                  uint64_t offset) {
  for_each_normal(seed, offset, begin, end, [=](int64_t i, float eps) { out[i] = eps; });
}

template <typename Chunk>
void run_chunks(const Chunk& chunk_fn, int64_t n, int num_threads) {
  parallel_for_chunks(ceil_div(n, kElementChunk), num_threads, [&](int64_t chunk) {
    const int64_t begin = chunk * kElementChunk;
    chunk_fn(begin, begin + kElementChunk < n ? begin + kElementChunk : n);
  });
}

}  // namespace

void philox_words(uint32_t* out, int64_t n, uint64_t seed, uint64_t offset, int num_threads) {
  run_chunks([&](int64_t b, int64_t e) { words_chunk(out, b, e, seed, offset); }, n, num_threads);
}

void uniform(float* out, int64_t n, uint64_t seed, uint64_t offset, int num_threads) {
  run_chunks([&](int64_t b, int64_t e) { uniform_chunk(out, b, e, seed, offset); }, n,
             num_threads);
}

void standard_normal(float* out, int64_t n, uint64_t seed, uint64_t offset, int num_threads) {
  run_chunks([&](int64_t b, int64_t e) { normal_chunk(out, b, e, seed, offset); }, n,
             num_threads);
}

}  // namespace cpu
BV_NAMESPACE_END
