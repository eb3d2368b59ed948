"""The original Kaizen documentation's examples, run as written (imports translated)."""
