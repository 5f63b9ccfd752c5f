"""convoc's development tools: synthetic data, the print shop and booking system played back, the local
Airflow supervisor and the documentation samples. Tests, the Makefile and the benchmarks use them; the product
(``convoc``) never imports them."""
