"""The monthly report (SPEC §7): JSON, CSV, HTML and PDF."""
