# Sourced by `make test`: start a throwaway PostgreSQL server on loopback for the store tests
# and export FEEDGUARD_TEST_PG_URL. Uses the Debian postgresql package installed by setup.
start_test_postgres() {
  local bin port dir
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bin" ]; then
    echo "postgresql is not installed: run 'make setup' (Debian package postgresql)" >&2
    return 1
  fi
  port=${FEEDGUARD_TEST_PG_PORT:-55432}
  dir=$(mktemp -d /tmp/feedguard-pg.XXXXXX)
  chmod 755 "$dir"
  local run=""
  if [ "$(id -u)" = 0 ]; then
    chown postgres:postgres "$dir"
    run="runuser -u postgres --"
  fi
  $run "$bin/initdb" -D "$dir/data" -A trust -U postgres >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
  $run "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off" start >/dev/null || { cat "$dir/server.log" >&2; return 1; }
  export FEEDGUARD_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
  # Stop the server when the shell that started it exits.
  trap "$run '$bin/pg_ctl' -D '$dir/data' -m fast stop >/dev/null 2>&1; rm -rf '$dir'" EXIT
  echo "test PostgreSQL on 127.0.0.1:$port"
}
