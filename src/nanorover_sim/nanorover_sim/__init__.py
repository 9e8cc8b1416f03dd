"""Embedded 2-D simulator of the nanorover (dev-only code; Python 3.11 allowed)."""
