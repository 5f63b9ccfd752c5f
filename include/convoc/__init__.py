"""convoc: population register in, mailed invitation letters out (Airflow-agnostic core)."""

from __future__ import annotations

__version__ = "0.1.0"
