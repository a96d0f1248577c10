"""Care-pathway statistics (docs/api.md)."""
