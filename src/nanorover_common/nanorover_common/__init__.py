"""Helpers shared by every nanorover node (robot runtime: must parse and run on Python 3.6)."""
