"""pathway_metrics: digital care pathway starts, progress and endings (SPEC §3.2, §4)."""
