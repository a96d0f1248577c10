"""The digital-contact share (SPEC §7)."""
