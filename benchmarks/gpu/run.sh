#!/usr/bin/env bash
# IMPALA on ALE/Pong-v5 with the learner on the GPU, in one call: trains for $MINUTES minutes
# (default 10) with 14 actor processes on a 16-core machine, evaluates the final agent and writes
# $OUT/gpu_impala_pong.json (frames/s, env steps/s, updates/s, GPU, score) and $OUT/agent/ (the agent
# folder, as `zoo export` writes it). Extra arguments go to impala_pong.py:
#
#   benchmarks/gpu/run.sh                  # on the GPU machine
#   MINUTES=8 benchmarks/gpu/run.sh        # leave room for the evaluation under a 10-minute call limit
#   benchmarks/gpu/run.sh --smoke          # any machine: CPU, CartPole-v1, 20 s (checks the script)
#
# It needs a Python with torch (CUDA build), zoo-core[atari] and zoo-impala installed: ./.venv if
# there is one, else $PYTHON, else python3. Nothing is downloaded.
set -euo pipefail
cd "$(dirname "$0")/../.."
export OUT="${OUT:-$PWD/benchmarks/gpu/out}"
MINUTES="${MINUTES:-10}"
if [[ -n "${PYTHON:-}" ]]; then PY="$PYTHON"
elif [[ -x .venv/bin/python ]]; then PY=.venv/bin/python
else PY=python3
fi
if ! "$PY" -c "import torch, ale_py, zoo_core, zoo_impala" 2>/dev/null; then
    echo "run.sh: $PY lacks torch, ale-py, zoo-core or zoo-impala; install them (offline: from a wheelhouse) with" >&2
    echo "  python3 -m venv .venv && .venv/bin/pip install -c constraints.txt -e '.[atari]' -e plugins/zoo-impala" >&2
    exit 2
fi
"$PY" -c "import torch; print('torch', torch.__version__, '| CUDA:', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none')"
# One torch thread per process: 14 actors share 16 cores; the learner's work is on the GPU.
exec "$PY" benchmarks/gpu/impala_pong.py --minutes "$MINUTES" --out "$OUT" "$@"
