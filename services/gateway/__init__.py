"""gateway: the query API, ingest, wallboard, reports and Grafana snapshots (docs/api.md)."""
