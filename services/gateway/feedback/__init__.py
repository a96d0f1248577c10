"""NPS, comments and the suppression list (SPEC §7)."""
