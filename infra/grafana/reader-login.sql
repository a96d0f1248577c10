-- Lets Grafana's read-only role log in with GRAFANA_DB_PASSWORD (docker-compose.yml:
-- grafana_reader); the role and its grants come from migration 0008. The password is read from
-- the environment, not the command line, and psql quotes it as a literal.
\getenv password GRAFANA_DB_PASSWORD
ALTER ROLE kanava_grafana_reader WITH LOGIN PASSWORD :'password';
