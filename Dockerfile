# The project image: Airflow 3 with xapi-pipeline installed, its DAGs, suites and sources baked in.
# Build: docker compose build   (or: docker build -t xapi-pipeline .)
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11
FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}

# Re-declared: an ARG before FROM is not visible after it.
ARG AIRFLOW_VERSION

# The library first, so editing a DAG or a suite does not reinstall dependencies.
COPY --chown=airflow:0 pyproject.toml README.md /opt/xapi-pipeline/
COPY --chown=airflow:0 xapi_ingest /opt/xapi-pipeline/xapi_ingest
COPY --chown=airflow:0 transforms /opt/xapi-pipeline/transforms
# The GX suites ship inside the package (xapi_ingest/quality/expectations links to this folder).
COPY --chown=airflow:0 expectations /opt/xapi-pipeline/expectations
# apache-airflow is named with the image's own version in the same pip call, so no dependency of
# ours can move Airflow up or down (the Airflow docker-stack guide's rule for extending images).
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" /opt/xapi-pipeline

COPY --chown=airflow:0 config /opt/airflow/config
COPY --chown=airflow:0 dags /opt/airflow/dags

# Every path the steps read, so the installed package never looks for configuration beside itself.
ENV XAPI_SOURCES=/opt/airflow/config/sources.yaml \
    XAPI_CREDIT_POLICY=/opt/airflow/config/credit/policy.yaml \
    XAPI_CREDIT_REGISTRY=/opt/airflow/config/credit/registry.csv \
    XAPI_CREDIT_ROSTER=/opt/airflow/config/credit/roster.csv \
    XAPI_SEQUENCES_SCHEME=/opt/airflow/config/sequences/scheme.yaml \
    XAPI_REPORTS=/opt/airflow/reports
# Created here, as the airflow user, so a named volume mounted on it starts out writable by Airflow.
RUN mkdir -p "${XAPI_REPORTS}"
