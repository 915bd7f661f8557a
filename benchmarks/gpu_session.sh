#!/usr/bin/env bash
# One device call with everything that needs a GPU; results land under $OUT.
#
# Prepare here (the device has torch, numpy, pandas, scikit-learn, click, rich, pyyaml and
# pytest, but not pydantic, SQLAlchemy or alembic):
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl $(.venv/bin/pip freeze | grep -iE '^(pydantic|pydantic.core|annotated.types|typing.inspection|typing.extensions|sqlalchemy|alembic|mako)==')
# (the same versions as .venv: pydantic pins pydantic-core exactly; about 8 MB in all)
# Then: device run, carry [".whl"], command "bash benchmarks/gpu_session.sh", timeout_s 600.
set -uo pipefail
if [ -d .whl ]; then  # on the device; elsewhere the active environment has everything
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
fi
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1 BNBENCH_HOME=/tmp/bnbench
OUT="${OUT:-/tmp/out}"
mkdir -p "$OUT"
BNBENCH=(python3 -c 'from cli import main; main()')  # an array: `timeout` runs it

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.csv"
# The CUDA-only tests (CUDA graphs against eager); conftest needs Redis and Celery, not these.
timeout 120 python3 -m pytest -q --noconftest -p no:cacheprovider -m cuda \
  tests/core/test_bench.py > "$OUT/cuda_tests.txt" 2>&1
timeout 180 python3 benchmarks/harness_overhead.py --device cuda --rounds 3 --json "$OUT/harness.json" \
  > "$OUT/harness.txt" 2>&1
for suite in throughput article; do
  timeout 300 "${BNBENCH[@]}" suite run "$suite" --profile full --local > "$OUT/$suite.log" 2>&1
  "${BNBENCH[@]}" suite report "$suite" --out "$OUT/$suite.md" >> "$OUT/$suite.log" 2>&1
done
tail -n 3 "$OUT"/*.txt "$OUT"/*.log
