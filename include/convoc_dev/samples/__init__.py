"""The sample letters and report previews shown in the README (``make docs``), and the small marts behind them."""
