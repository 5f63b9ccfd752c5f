"""Data quality: Great Expectations suites per source, convoc's own expectations, validation runs."""
