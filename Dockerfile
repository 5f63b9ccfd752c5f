# convoc image: Python 3.11, the locked dependencies, the project. Used by every service of docker-compose.yaml.
# The lock is resolved for Python 3.11 on x86_64 Linux (make lock); it is installed exactly as `make install`
# does (uv pip sync, then the project itself, editable, without dependencies).
FROM python:3.11-slim-bookworm

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/convoc/.venv \
    PATH=/opt/convoc/.venv/bin:$PATH \
    AIRFLOW_HOME=/opt/airflow \
    CONVOC_HOME=/var/lib/convoc

# The fonts embedded in the letters (DejaVu covers every name in the register; letters/layout.py).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/convoc
RUN pip install --no-cache-dir "uv==0.13.9" && uv venv "$VIRTUAL_ENV"
COPY requirements.lock ./
RUN uv pip sync --compile-bytecode requirements.lock
COPY pyproject.toml README.md ./
# The product only: the development tools (include/convoc_dev: synthetic data, simulators, samples) stay out.
COPY include/convoc ./include/convoc
COPY dags ./dags
COPY plugins ./plugins
COPY sql ./sql
RUN uv pip install --no-deps --compile-bytecode -e . \
    && useradd --uid 50000 --gid 0 --create-home airflow \
    && mkdir -p "$AIRFLOW_HOME" "$CONVOC_HOME" \
    && chown airflow:0 "$AIRFLOW_HOME" "$CONVOC_HOME" \
    && chmod 0700 "$CONVOC_HOME"
USER airflow
