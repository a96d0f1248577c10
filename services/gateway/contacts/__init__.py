"""The digital-contact share (docs/api.md)."""
