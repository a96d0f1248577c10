"""The monthly report (docs/api.md): JSON, CSV, HTML and PDF."""
