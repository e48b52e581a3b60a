#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL server: a cluster made in a temporary directory
# (Debian's `postgresql` package; scripts/install-deps.sh --test installs it), started on a
# free loopback port, its address in BAOXUE_TEST_POSTGRES, stopped and deleted afterwards.
#
#   scripts/with-postgres.sh cargo test -p baoxue-tests --test server_sync
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL is not installed (scripts/install-deps.sh --test)" >&2; exit 1; }
dir=$(mktemp -d /tmp/baoxue-pg.XXXXXX)
# PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres user.
as=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres "$dir"
  as=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
stop() {
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT
"${as[@]}" "$bin/initdb" -D "$dir/data" -U baoxue -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
# Durability is the tests' subject only where a server is killed, not the machine: fsync off
# keeps a throwaway cluster quick.
"${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
export BAOXUE_TEST_POSTGRES="postgres://baoxue@127.0.0.1:$port"
echo "PostgreSQL on 127.0.0.1:$port"
"$@"
