"""The sample letters and report previews shown in docs/letters.md (``make docs``), and the small marts behind them."""
