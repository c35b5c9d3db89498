#!/usr/bin/env bash
# GPU check: build and install betavae on a GPU machine that already has torch, triton, pybind11
# and scikit-build-core (no network: no build isolation, no downloads), run the GPU tests and the
# ops benchmark, and write logs and results to the folder given as the first argument.
#   bash scripts/gpu_check.sh OUT_DIR
set -uo pipefail
out=${1:?usage: scripts/gpu_check.sh OUT_DIR}
mkdir -p "$out"
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
status=0

{
  date -u +"date: %Y-%m-%dT%H:%M:%SZ"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  python3 -c "import torch, triton; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'triton', triton.__version__)"
  nvcc --version | tail -1 || true
} > "$out/env.txt" 2>&1
cat "$out/env.txt"

echo "== build + install (no isolation, sm_90 only to save time)"
python3 -m pip install --no-build-isolation --no-deps --no-index -q \
  -C cmake.define.CMAKE_CUDA_ARCHITECTURES=90 . > "$out/install.log" 2>&1 || { status=1; tail -50 "$out/install.log"; }
python3 -c "from betavae import ops; print('backends:', ops.available_backends())" 2>&1 | tee -a "$out/env.txt"

echo "== GPU tests + ops tests"
timeout 420 python3 -m pytest -q -ra tests/test_gpu.py tests/test_rng.py tests/test_ops_api.py \
  tests/test_backend_selection.py \
  --junitxml="$out/pytest.xml" 2>&1 | tee "$out/pytest.log" | tail -30
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

if python3 -c "import betavae.bench" 2>/dev/null; then
  echo "== ops benchmark"
  timeout 240 python3 -m betavae.bench ops --device cuda --out "$out/ops-gpu.md" 2>&1 | tee "$out/bench.log" | tail -40
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi
if python3 -c "import betavae.bench" 2>/dev/null; then
  echo "== training benchmark (no compile: its compile time would not fit)"
  timeout 240 python3 -m betavae.bench train --device cuda --no-compile --out "$out/train-gpu.md" \
    2>&1 | tee "$out/bench-train.log" | tail -15
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi
echo "gpu_check status: $status"
exit $status
