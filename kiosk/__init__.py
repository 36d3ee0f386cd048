"""Smiletap kiosk."""
