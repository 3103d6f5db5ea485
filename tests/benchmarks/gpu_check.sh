#!/usr/bin/env bash
# The CUDA check, in one go (about 5 minutes on one GPU; each part has its own time limit):
#   1. the `gpu`-marked tests: no host synchronisation in the step loop, CUDA equals the CPU,
#      a step replays as a CUDA graph;
#   2. the speed benchmarks on CUDA (engine, mlp_digits, the sweep command against the plain
#      Optuna loop with fused torch.optim.Adam).
# Writes results/benchmarks/cuda/{gpu-tests.xml,benchmarks.json,table.md}; exits non-zero if a
# part fails.   Usage: bash tests/benchmarks/gpu_check.sh [output directory]
set -uo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
out="${1:-results/benchmarks/cuda}"
mkdir -p "$out"
python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device')" || exit 2
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/gpu.txt" 2>&1
status=0

timeout 150 python -m pytest -q -n 0 -p no:randomly -m gpu tests --junitxml="$out/gpu-tests.xml" \
    || status=1

BENCH_DEVICE=cuda timeout 330 python -m pytest -q -p no:randomly \
    tests/benchmarks/test_engine_speed.py tests/benchmarks/test_mlp_speed.py \
    tests/benchmarks/test_sweep_speed.py -k "not optuna_share" \
    --benchmark-enable --benchmark-only --benchmark-json="$out/benchmarks.json" \
    -o "addopts=--strict-markers --import-mode=importlib" || status=1

if [ -s "$out/benchmarks.json" ]; then
    python tests/benchmarks/table.py "$out/benchmarks.json" > "$out/table.md" && cat "$out/table.md"
fi
exit $status
