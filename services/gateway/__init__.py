"""gateway: the query API, ingest, wallboard, reports and Grafana snapshots (SPEC §7)."""
