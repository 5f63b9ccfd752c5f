"""The control room: the campaign day by day, as an on-call engineer reads it in the Airflow UI.

``figures`` reads the analysts' published copy of the marts (never the live warehouse: the page never waits
on the writer) and joins it with the chain's run states that the Airflow side passes in; ``page`` renders it
as server-side HTML with a small SVG chart (no script, no external fetch). Counts only: no name, matricule,
address or booking code is in the published copy, nor on the page. The Airflow plugin
(``plugins/convoc_control_room.py``, app in ``convoc_airflow.control_room``) serves it behind Airflow's login.
"""
