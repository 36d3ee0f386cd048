"""HTTP blueprints: the device API and the reports API."""
