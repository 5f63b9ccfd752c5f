"""Landing files: what they look like (specs), extraction to Parquet, and the ingest stage."""
