"""Custom widgets of the kiosk."""
