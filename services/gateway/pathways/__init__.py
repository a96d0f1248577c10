"""Care-pathway statistics (SPEC §7)."""
