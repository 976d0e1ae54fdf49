# The Foresight operator image: non-root, read-only root filesystem friendly.
# The default image runs every forecaster that needs no torch (analog, the default, among them).
# `--build-arg EXTRAS=deepar` (or `deepar,fracast`) adds torch, CPU-only, for the networks.
FROM python:3.11-slim AS build
ARG EXTRAS=""
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# CPU wheels keep the image small (the default PyPI torch wheel brings the CUDA runtime, ~3 GB).
RUN python -m venv /opt/foresight \
 && if [ -n "$EXTRAS" ]; then \
      /opt/foresight/bin/pip install "torch==2.15.0" --index-url https://download.pytorch.org/whl/cpu; \
    fi
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN /opt/foresight/bin/pip install ".${EXTRAS:+[$EXTRAS]}"

FROM python:3.11-slim
COPY --from=build /opt/foresight /opt/foresight
COPY models /opt/foresight/models
ENV PATH=/opt/foresight/bin:$PATH \
    FORESIGHT_MODEL_DIR=/opt/foresight/models \
    FORESIGHT_DEEPAR_ARTIFACT=/opt/foresight/models/deepar-v1 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2
# Two malloc arenas: the forecast threads otherwise each grow their own (measured: ~80 MB less peak RSS
# per 1,000-scaler tick, no CPU cost; see docs/operator-performance.md).
USER 10001:10001
EXPOSE 8080 8081
ENTRYPOINT ["foresight"]
CMD ["run"]
