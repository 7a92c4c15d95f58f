#!/usr/bin/env bash
# The GPU figures of README's "On a GPU" section, in one run: eval throughput (batch sweep, intervention
# costs), diagnose costs and 7B projector training, on the full-size LLaVA-1.5-7B architecture with random
# bf16 weights (no download). Figures go to $OUT (default bench-gpu/) as JSON and logs.
#   bash bench/gpu.sh            # MODEL=random:llava-1.5-7b by default; any llava-hf folder works too
set -u -o pipefail
OUT=${OUT:-bench-gpu}
MODEL=${MODEL:-random:llava-1.5-7b}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
here=$(dirname "$0")
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" \
    | tee -a "$OUT/gpu.txt"
date -u +%FT%TZ | tee -a "$OUT/gpu.txt"
timeout "${EVAL_TIMEOUT:-300}" python3 "$here/eval_throughput.py" --model "$MODEL" --n 256 --ref-n 16 \
    --batch-size 32 --sweep --max-batch 256 \
    --interventions norm:paper norm:text-mean layers:12 layers:12,16,20 permute pool:12 \
    --json "$OUT/eval.json" 2>&1 | grep -v Warning | tee "$OUT/eval.log"
timeout "${DIAGNOSE_TIMEOUT:-150}" python3 "$here/diagnose_cost.py" --model "$MODEL" --kinds norms,position,balance \
    --n 100 --batch-size 8 --json "$OUT/diagnose.json" 2>&1 | grep -v Warning | tee "$OUT/diagnose.log"
timeout "${TRAIN_TIMEOUT:-150}" python3 "$here/train_throughput.py" --model "$MODEL" --recipe projector \
    --batch-size 8 --steps 20 --json "$OUT/train.json" 2>&1 | grep -v Warning | tee "$OUT/train.log"
