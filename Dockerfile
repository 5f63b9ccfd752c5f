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

WORKDIR /opt/convoc
RUN pip install --no-cache-dir "uv==0.13.9" && uv venv "$VIRTUAL_ENV"
COPY requirements.lock ./
RUN uv pip sync --compile-bytecode requirements.lock
COPY pyproject.toml README.md ./
# The product and its Airflow side only: the development tools (include/convoc_dev: synthetic data,
# simulators, samples) stay out.
# It brings the fonts the letters embed (include/convoc/fonts): the image needs no font package.
COPY include/convoc ./include/convoc
COPY include/convoc_airflow ./include/convoc_airflow
COPY dags ./dags
COPY plugins ./plugins
COPY sql ./sql
RUN uv pip install --no-deps --compile-bytecode -e . \
    && useradd --uid 50000 --gid 0 --create-home airflow \
    && mkdir -p "$AIRFLOW_HOME" "$CONVOC_HOME" \
    && chown airflow:0 "$AIRFLOW_HOME" "$CONVOC_HOME" \
    && chmod 0700 "$CONVOC_HOME"
USER airflow
