# The Foresight operator image: CPU-only torch, non-root, read-only root filesystem friendly.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# CPU wheels keep the image small (the default PyPI torch wheel brings the CUDA runtime, ~3 GB).
RUN python -m venv /opt/foresight \
 && /opt/foresight/bin/pip install "torch==2.15.0" --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN /opt/foresight/bin/pip install .

FROM python:3.11-slim
COPY --from=build /opt/foresight /opt/foresight
COPY models /opt/foresight/models
ENV PATH=/opt/foresight/bin:$PATH \
    FORESIGHT_MODEL_DIR=/opt/foresight/models \
    FORESIGHT_DEEPAR_ARTIFACT=/opt/foresight/models/deepar-v1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2
# Two malloc arenas: the forecast threads otherwise each grow their own (measured: ~80 MB less peak RSS
# per 1,000-scaler tick, no CPU cost; see docs/operator-performance.md).
USER 10001:10001
EXPOSE 8080 8081
ENTRYPOINT ["foresight"]
CMD ["run"]
