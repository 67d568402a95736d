#!/bin/sh
# The fleet's own login role, owning its schema (trellis_fleet) and nothing else: the plugin creates and
# migrates its tables there itself (packages/fleet/README.md, "The role and its grants").
# Run once by the postgres image on its first start (compose.yaml).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
  --set=password="$FLEET_PASSWORD" --set=db="${POSTGRES_DB:-$POSTGRES_USER}" <<'SQL'
CREATE ROLE trellis_fleet LOGIN PASSWORD :'password';
GRANT CONNECT ON DATABASE :"db" TO trellis_fleet;
CREATE SCHEMA trellis_fleet AUTHORIZATION trellis_fleet;
SQL
