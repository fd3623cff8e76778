-- The lake's Iceberg catalog (XAPI_LAKE_CATALOG): a database of its own beside Airflow's metadata.
CREATE DATABASE lake;
