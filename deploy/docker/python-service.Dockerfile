# syntax=docker/dockerfile:1.7
# The image of each Vigia service that is one Python package over vigia-common and a /healthz port:
# automation, correlator, forecast, fusion, live, notifier, trainer and watchdog (compose passes the build arguments).
# Build from the repository root, e.g.:
#   docker build -f deploy/docker/python-service.Dockerfile \
#     --build-arg SERVICE=fusion --build-arg PORT=9104 -t vigia/fusion .
# SERVICE is the directory under services/ and the package under vigia/ (vigia.<SERVICE>), PORT the
# port whose /healthz the HEALTHCHECK asks, APT_PACKAGES Debian packages the service runs (ffmpeg).
# Every one of these services stops on SIGTERM: it stops consuming, finishes and acks what it holds.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Dependencies first, in their own cached layer: only the project metadata is copied.
COPY services/common/pyproject.toml /src/services/common/
COPY services/${SERVICE}/pyproject.toml /src/services/${SERVICE}/
RUN test -n "${SERVICE}" \
 && mkdir -p /src/services/common/vigia/common "/src/services/${SERVICE}/vigia/${SERVICE}" \
 && pip install /src/services/common "/src/services/${SERVICE}" \
 && pip uninstall -y vigia-common "vigia-${SERVICE}"
COPY services/common /src/services/common
COPY services/${SERVICE} /src/services/${SERVICE}
RUN pip install --no-deps /src/services/common "/src/services/${SERVICE}"

FROM ${PYTHON_IMAGE}
ARG SERVICE
ARG PORT
ARG APT_PACKAGES=""
SHELL ["/bin/sh", "-eu", "-c"]
RUN if [ -n "${APT_PACKAGES}" ]; then \
      apt-get update && apt-get install -y --no-install-recommends ${APT_PACKAGES} && rm -rf /var/lib/apt/lists/*; \
    fi \
 && useradd --system --uid 10001 --home /app vigia
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 \
    SERVICE_MODULE=vigia.${SERVICE} HEALTHCHECK_PORT=${PORT}
WORKDIR /app
USER 10001
EXPOSE ${PORT}
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s \
  CMD ["python", "-c", "import os,sys,urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['HEALTHCHECK_PORT'], timeout=2).status != 200)"]
STOPSIGNAL SIGTERM
# exec: python becomes PID 1 and gets the SIGTERM itself.
ENTRYPOINT ["/bin/sh", "-c", "exec python -m \"$SERVICE_MODULE\" \"$@\"", "--"]
