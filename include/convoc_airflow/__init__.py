"""The Airflow side of convoc: what every DAG file shares, so that each reads like the pipeline it runs.

``defaults`` holds the DAG defaults (owner, start, retries, the ``day`` param, the daily chain's schedules);
``tasks.stage`` runs a stage function in a task: the settings, the day, the warehouse connection, and
convoc's errors turned into Airflow's outcomes. DAG files import this at parse time: it imports nothing heavy.
The product (``convoc``) never imports it; it imports the product.
"""
