"""The simulator: realistic source events for demos, dashboards and load tests."""
