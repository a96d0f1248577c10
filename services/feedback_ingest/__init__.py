"""feedback_ingest: WheelQ-style SMS surveys, NPS with confidence and NPS-drop detection."""
