#!/usr/bin/env bash
# test-services.sh installs (when missing) and starts the PostgreSQL and
# MariaDB servers that the database tests use, on 127.0.0.1, without systemd,
# and creates the test users and databases. It is idempotent: run it again and
# it only checks that everything is in place.
#
# Only the export lines go to stdout, so that CI can do
#   eval "$(bash scripts/test-services.sh)"
# Everything else goes to stderr.
set -euo pipefail

exec 3>&1 1>&2 # fd 3 is the real stdout; all chatter goes to stderr

PG_DSN='postgres://recauda:recauda@127.0.0.1:5432/recauda_test?sslmode=disable'
MYSQL_DSN='recauda:recauda@tcp(127.0.0.1:3306)/recauda_test?parseTime=true'

log() { printf 'test-services: %s\n' "$*"; }
die() { log "error: $*"; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
	die "must run as root (it installs packages and starts servers)"
fi

# wait_for DESCRIPTION SECONDS COMMAND... retries COMMAND once a second.
wait_for() {
	local what=$1 secs=$2
	shift 2
	local i
	for ((i = 0; i < secs; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		if [ "$i" -eq 0 ]; then
			log "waiting up to ${secs}s for $what"
		fi
		sleep 1
	done
	return 1
}

# start_daemon LOGFILE COMMAND... runs a command that leaves a server running
# in the background. The server must inherit none of our descriptors but
# /dev/null and the log file: holding the caller's $(...) pipe (fd 3) or a log
# pipe open would make the caller wait for as long as the server runs.
start_daemon() {
	local logf=$1
	shift
	local rc=0
	(
		for fd in /proc/$BASHPID/fd/*; do
			fd=${fd##*/}
			if [ "$fd" -gt 2 ]; then
				eval "exec $fd>&-" 2>/dev/null || true
			fi
		done
		exec "$@"
	) </dev/null >"$logf" 2>&1 || rc=$?
	cat "$logf"
	return "$rc"
}

# --- install ---------------------------------------------------------------
have_pg() { command -v pg_ctlcluster >/dev/null && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; }
have_maria() { command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || [ -x /usr/sbin/mysqld ]; }

pkgs=()
have_pg || pkgs+=(postgresql)
have_maria || pkgs+=(mariadb-server)
if [ ${#pkgs[@]} -gt 0 ]; then
	log "installing ${pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# Wait for another apt or dpkg that holds the lock rather than fail.
	apt-get -o DPkg::Lock::Timeout=600 update -q
	apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${pkgs[@]}"
fi

# --- PostgreSQL ------------------------------------------------------------
pg_version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
[ -n "$pg_version" ] || die "no PostgreSQL version under /usr/lib/postgresql"
if ! pg_lsclusters -h | awk -v v="$pg_version" '$1 == v && $2 == "main" { found = 1 } END { exit !found }'; then
	log "creating PostgreSQL $pg_version cluster main"
	pg_createcluster --port 5432 "$pg_version" main
fi
pg_port=$(pg_lsclusters -h | awk -v v="$pg_version" '$1 == v && $2 == "main" { print $3 }')
[ "$pg_port" = 5432 ] || die "PostgreSQL $pg_version/main listens on port $pg_port, want 5432"
if ! pg_lsclusters -h | awk -v v="$pg_version" '$1 == v && $2 == "main" && $4 == "online" { found = 1 } END { exit !found }'; then
	log "starting PostgreSQL $pg_version/main"
	start_daemon /tmp/test-services-postgres.log pg_ctlcluster "$pg_version" main start
fi
wait_for "PostgreSQL" 60 pg_isready -q -h 127.0.0.1 -p 5432 ||
	die "PostgreSQL does not accept connections on 127.0.0.1:5432 (see /var/log/postgresql/postgresql-$pg_version-main.log)"
log "PostgreSQL is up"

runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'recauda') THEN
		CREATE ROLE recauda LOGIN SUPERUSER CREATEDB PASSWORD 'recauda';
	ELSE
		ALTER ROLE recauda LOGIN SUPERUSER CREATEDB PASSWORD 'recauda';
	END IF;
END
$$;
SELECT 'CREATE DATABASE recauda_test OWNER recauda'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'recauda_test')\gexec
SQL

# --- MariaDB ---------------------------------------------------------------
maria_ping() { mariadb-admin --protocol=socket -uroot ping >/dev/null 2>&1 || mysqladmin -uroot ping >/dev/null 2>&1; }
maria_tcp() { mariadb -h 127.0.0.1 -P 3306 -urecauda -precauda -e 'SELECT 1' recauda_test >/dev/null 2>&1; }

if ! maria_ping; then
	install -d -o mysql -g mysql -m 0755 /run/mysqld
	if [ ! -d /var/lib/mysql/mysql ]; then
		log "initialising the MariaDB data directory"
		mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
	fi
	log "starting MariaDB"
	if [ -x /etc/init.d/mariadb ]; then
		start_daemon /tmp/test-services-mariadb.log timeout 90 service mariadb start || log "service mariadb start failed; trying mysqld_safe"
	fi
	if ! wait_for "MariaDB" 5 maria_ping; then
		start_daemon /var/log/mysqld_safe.out setsid -f mysqld_safe --user=mysql
	fi
fi
wait_for "MariaDB" 60 maria_ping || die "MariaDB does not answer on its socket (see /var/log/mysql/error.log or /var/log/mysqld_safe.out)"
log "MariaDB is up"

mariadb --protocol=socket -uroot <<'SQL'
CREATE DATABASE IF NOT EXISTS recauda_test CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'recauda'@'127.0.0.1' IDENTIFIED BY 'recauda';
CREATE USER IF NOT EXISTS 'recauda'@'localhost' IDENTIFIED BY 'recauda';
ALTER USER 'recauda'@'127.0.0.1' IDENTIFIED BY 'recauda';
ALTER USER 'recauda'@'localhost' IDENTIFIED BY 'recauda';
GRANT ALL PRIVILEGES ON `recauda_test`.* TO 'recauda'@'127.0.0.1';
GRANT ALL PRIVILEGES ON `recauda_test`.* TO 'recauda'@'localhost';
GRANT ALL PRIVILEGES ON `recauda\_%`.* TO 'recauda'@'127.0.0.1';
GRANT ALL PRIVILEGES ON `recauda\_%`.* TO 'recauda'@'localhost';
FLUSH PRIVILEGES;
SQL

wait_for "MariaDB over TCP" 30 maria_tcp || die "MariaDB does not accept user recauda on 127.0.0.1:3306"
log "MariaDB accepts recauda on 127.0.0.1:3306"

printf "export RECAUDA_TEST_POSTGRES_DSN='%s'\n" "$PG_DSN" >&3
printf "export RECAUDA_TEST_MYSQL_DSN='%s'\n" "$MYSQL_DSN" >&3
