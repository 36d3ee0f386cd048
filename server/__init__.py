"""Smiletap server."""
