# convoc image: Python 3.11, the locked dependencies, the project. Used by docker-compose.yaml.
FROM python:3.11-slim-bookworm

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/convoc/.venv \
    PATH=/opt/convoc/.venv/bin:$PATH \
    AIRFLOW_HOME=/opt/airflow \
    CONVOC_HOME=/var/lib/convoc

WORKDIR /opt/convoc
RUN pip install --no-cache-dir "uv==0.13.9" && uv venv "$VIRTUAL_ENV"
COPY requirements.lock ./
RUN uv pip sync --compile-bytecode requirements.lock
COPY pyproject.toml README.md ./
COPY include ./include
COPY dags ./dags
COPY plugins ./plugins
COPY sql ./sql
RUN uv pip install --no-deps --compile-bytecode -e . \
    && useradd --uid 50000 --create-home airflow \
    && mkdir -p "$AIRFLOW_HOME" "$CONVOC_HOME" && chown airflow "$AIRFLOW_HOME" "$CONVOC_HOME"
USER airflow
