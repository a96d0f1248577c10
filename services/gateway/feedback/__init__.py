"""NPS, comments and the suppression list (docs/api.md)."""
