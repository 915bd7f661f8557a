# Two images from one file (docker-compose.yml builds them):
#   dashboard  the Streamlit app, the CLI and migrations; no torch
#   worker     Celery workers; TORCH_INDEX_URL picks torch's CUDA build (worker-gpu, the
#              default) or CPU build (worker-cpu). The CUDA wheels carry the CUDA runtime:
#              the host needs only the NVIDIA driver and the NVIDIA container toolkit.
ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BNBENCH_HOME=/var/lib/bnbench
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/bnbench bnbench
WORKDIR /var/lib/bnbench

FROM base AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY cli ./cli
COPY core ./core
COPY worker ./worker
COPY dashboard ./dashboard
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM base AS dashboard
COPY --from=wheel /wheels /wheels
RUN pip install "$(ls /wheels/bnbench-*.whl)[dashboard]"
USER bnbench
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s \
    CMD python -c "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read() != b'ok')"
CMD ["bnbench", "dashboard", "--host", "0.0.0.0", "--port", "8501"]

# torch is pinned to the version pyproject.toml pins; only the build (CUDA or CPU) differs.
# gcc and g++: torch.compile (spec field `compile`) builds kernels with them.
FROM base AS worker
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu130
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc g++ \
 && rm -rf /var/lib/apt/lists/*
COPY --from=wheel /wheels /wheels
RUN pip install --index-url "${TORCH_INDEX_URL}" torch==2.13.0 \
 && pip install "$(ls /wheels/bnbench-*.whl)[worker]"
USER bnbench
CMD ["bnbench", "worker", "--gpus", "all"]
