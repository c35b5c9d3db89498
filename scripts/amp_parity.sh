#!/usr/bin/env bash
# CPU --amp parity runs for bench/results/amp-cpu.md: the `quick` preset (5,000 steps) and a short
# run of the paper's dSprites preset (2,000 steps), 3 seeds each, in float32 and with --amp, then
# the metrics of every run. Sequential (one training at a time on a 2-core machine); resumable:
# finished runs are skipped. Summarise with `python scripts/amp_parity_report.py RUNS_DIR`.
#   bash scripts/amp_parity.sh [RUNS_DIR]          (default runs/amp-parity; ~50 min on 2 cores)
set -euo pipefail
runs=${1:-runs/amp-parity}
mkdir -p "$runs"
train() {  # name, extra flags...
  local dir="$runs/$1"; shift
  if [ -f "$dir/checkpoint.pt" ] && python - "$dir" <<'PY'
import sys, torch
state = torch.load(sys.argv[1] + "/checkpoint.pt", map_location="cpu", weights_only=False)
sys.exit(0 if state["step"] >= state["config"]["steps"] else 1)
PY
  then echo "done already: $dir"; return; fi
  local resume=()
  [ -f "$dir/checkpoint.pt" ] && resume=(--resume "$dir")
  python -m betavae.train --out "$dir" --quiet "${resume[@]}" "$@"
}
for seed in 0 1 2; do
  for precision in fp32 amp; do
    amp=(); [ "$precision" = amp ] && amp=(--amp)
    train "quick-$precision-s$seed" --preset quick --seed "$seed" "${amp[@]}"
    train "paper-$precision-s$seed" --preset dsprites --steps 2000 --log-every 100 \
      --save-every 1000 --image-every 2000 --seed "$seed" "${amp[@]}"
  done
done
for dir in "$runs"/*/; do
  [ -f "$dir/eval/eval.json" ] && continue
  python -m betavae.evaluate "$dir" --metrics mig beta_vae factor_vae sap --samples 2000
done
