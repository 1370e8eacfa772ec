#!/usr/bin/env bash
# Records the L7 parser golden captures from real Debian servers and clients on 127.0.0.1.
#
# For each case it starts tcpdump on lo for the server's port, runs a real client, stops tcpdump,
# and writes src/agent/protocols/<protocol>/testdata/<case>.pcap plus <case>.md (one line: the
# client, its version and the command). The expected spans (<case>.golden.json) are then written
# by the golden test:  UPDATE_GOLDEN=1 npx vitest run src/agent/protocols/golden.test.ts
# and reviewed as a diff. Needs root (tcpdump, servers running as their own users).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
P="$ROOT/src/agent/protocols"
WORK=$(mktemp -d /tmp/weft-goldens.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 0.5
  rm -rf "$WORK"
}
trap cleanup EXIT

HTTP_PORT=18737 REDIS_PORT=16737 MYSQL_PORT=13737 PG_PORT=15737 DNS_PORT=15853 MEMCACHED_PORT=17737
TP='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

wait_port() { # proto port
  for _ in $(seq 1 100); do
    if ss -H -ln"${1:0:1}" "sport = :$2" | grep -q .; then return 0; fi
    sleep 0.1
  done
  echo "port $2 never opened" >&2; return 1
}

capture() { # protocol case port note -- command...
  local proto=$1 name=$2 port=$3 note=$4; shift 5
  # ONLY=<protocol folder> re-records one protocol's cases; CASES="a b" only the cases named.
  if [ -n "${ONLY:-}" ] && [ "$ONLY" != "$proto" ]; then return 0; fi
  if [ -n "${CASES:-}" ] && [[ " $CASES " != *" $name "* ]]; then return 0; fi
  mkdir -p "$P/$proto/testdata"
  local pcap="$P/$proto/testdata/$name.pcap"
  tcpdump -i lo --immediate-mode -U -B 65536 -s 0 -w "$pcap" "port $port" 2>"$WORK/tcpdump.$name.log" &
  local tpid=$!
  for _ in $(seq 1 100); do grep -q 'listening on' "$WORK/tcpdump.$name.log" && break; sleep 0.05; done
  # "listening" is printed before the filter sees every packet; give it a moment, then let the
  # last segments (FIN/ACK) reach the file before stopping.
  sleep 0.5
  "$@" >"$WORK/$name.out" 2>&1 || true
  sleep 1
  kill -INT "$tpid"; wait "$tpid" || true
  echo "$note" >"$P/$proto/testdata/$name.md"
  echo "recorded $proto/$name ($(stat -c %s "$pcap") bytes; $(grep -E 'captured|dropped' "$WORK/tcpdump.$name.log" | tr '\n' ' '))"
  if [ -n "${SHOW_OUTPUT:-}" ]; then cat "$WORK/$name.out"; fi
}

# ---------------------------------------------------------------- nginx (HTTP/1.1)
mkdir -p "$WORK/www/api/v1" "$WORK/nginx"
echo 'hello from weft' >"$WORK/www/a.txt"
seq 1 3000 >"$WORK/www/big.txt"
echo '{"id":42}' >"$WORK/www/api/v1/users"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  gzip on; gzip_types text/plain; gzip_min_length 10; gzip_http_version 1.0;
  server {
    listen 127.0.0.1:$HTTP_PORT;
    root $WORK/www;
    location = /empty { return 204; }
    location = /boom { return 503 "down\n"; }
    location /api/ { default_type application/json; try_files /api/v1/users =404; }
  }
}
CONF
nginx -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
wait_port t $HTTP_PORT
NGINX_V=$(nginx -v 2>&1 | sed 's/.*: //')
CURL_V=$(curl --version | head -1 | cut -d' ' -f1-2)
U="http://127.0.0.1:$HTTP_PORT"

capture http1 curl-keepalive $HTTP_PORT "$CURL_V → $NGINX_V: curl --http1.1 -H traceparent -H X-Request-ID -H Authorization $U/a.txt $U/api/v1/users/42?x=1 $U/missing $U/boom (one keep-alive connection)" -- \
  curl --http1.1 -sS -o /dev/null -o /dev/null -o /dev/null -o /dev/null -H "traceparent: $TP" -H 'X-Request-ID: req-weft-1' \
  -H 'Authorization: Bearer s3cret' -H 'Cookie: session=abc' "$U/a.txt" "$U/api/v1/users/42?x=1" "$U/missing" "$U/boom"
capture http1 curl-no-body $HTTP_PORT "$CURL_V → $NGINX_V: curl --http1.1 -I $U/a.txt, then $U/empty (204), then If-Modified-Since (304), one connection" -- \
  curl --http1.1 -sS -o /dev/null -o /dev/null -o /dev/null -I "$U/a.txt" --next -o /dev/null "$U/empty" --next -o /dev/null \
  -H 'If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT' "$U/a.txt"
capture http1 curl-chunked-gzip $HTTP_PORT "$CURL_V → $NGINX_V (gzip on): curl --http1.1 --compressed $U/big.txt $U/a.txt (chunked bodies, keep-alive)" -- \
  curl --http1.1 -sS --compressed -o /dev/null -o /dev/null "$U/big.txt" "$U/a.txt"
capture http1 http10-close-delimited $HTTP_PORT "$CURL_V → $NGINX_V (gzip on): curl --http1.0 --compressed $U/big.txt (body until close)" -- \
  curl --http1.0 -sS --compressed -o /dev/null "$U/big.txt"
capture http1 curl-query-secrets $HTTP_PORT "$CURL_V → $NGINX_V: curl --http1.1 with secrets in query strings ($U/a.txt?token=…&x=1, ?api_key=…&page=2, ?X-Amz-Signature=…, ?password=…&sig=…), one keep-alive connection" -- \
  curl --http1.1 -sS -o /dev/null -o /dev/null -o /dev/null -o /dev/null "$U/a.txt?token=tok-s3cret&x=1" "$U/a.txt?api_key=k3y-s3cret&page=2" \
  "$U/a.txt?X-Amz-Signature=abcd1234&X-Amz-Date=20260101T000000Z" "$U/a.txt?user=bob&password=hunter2&sig=zz9"
pipeline_http() {
  exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT"
  printf 'GET /a.txt HTTP/1.1\r\nHost: weft.test\r\nX-B3-TraceId: 80f198ee56343ba864fe8b2a57d3eff7\r\nX-B3-SpanId: e457b5a2e4d86bd1\r\n\r\nGET /api/v1/users/7 HTTP/1.1\r\nHost: weft.test\r\nb3: 80f198ee56343ba864fe8b2a57d3eff7-05e3ac9a4f6e3b90-1\r\n\r\nHEAD /a.txt HTTP/1.1\r\nHost: weft.test\r\nuber-trace-id: 5b8efff798038103d269b633813fc60c:eee19b7ec3c1b174:0:1\r\n\r\nGET /missing HTTP/1.1\r\nHost: weft.test\r\nConnection: close\r\n\r\n' >&3
  timeout 2 cat <&3 >/dev/null
  exec 3<&-
}
capture http1 pipelined $HTTP_PORT "bash $BASH_VERSION /dev/tcp → $NGINX_V: four pipelined requests (GET, GET, HEAD, GET close) in one write, X-B3-*, b3 and uber-trace-id headers" -- pipeline_http

# ---------------------------------------------------------------- redis
redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" --daemonize no >"$WORK/redis.log" &
PIDS+=($!)
wait_port t $REDIS_PORT
RCLI_V=$(redis-cli --version)
R="redis-cli -h 127.0.0.1 -p $REDIS_PORT"
redis_session() {
  $R SET user:1 alice; $R GET user:1; $R INCR counter; $R HSET h f1 v1 f2 v2; $R HGETALL h
  $R LPUSH l a b c; $R LRANGE l 0 -1; $R GET missing; $R INCR user:1; $R AUTH nobody hunter2
}
capture redis cli-commands $REDIS_PORT "$RCLI_V → redis-server 7.0: SET GET INCR HSET HGETALL LPUSH LRANGE GET(nil) INCR(WRONGTYPE error) AUTH(error, redacted), one connection each" -- redis_session
redis_pipe() { printf 'SET k1 v1\r\nGET k1\r\nPING\r\nINCR k1\r\n*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n' | $R --pipe; }
capture redis pipe $REDIS_PORT "$RCLI_V --pipe: inline SET GET PING INCR(error) and a RESP array GET, pipelined in one write (redis-cli appends its ECHO marker)" -- redis_pipe
redis_resp3() { $R -3 HGETALL h; $R -3 SMEMBERS s0; $R -3 SADD s0 x y; $R -3 SMEMBERS s0; $R -3 ZADD z 1.5 m; $R -3 ZSCORE z m; $R -3 EXISTS h; }
capture redis resp3 $REDIS_PORT "$RCLI_V -3 (HELLO 3 on connect): HGETALL(map) SMEMBERS(set) SADD ZADD ZSCORE(double) EXISTS" -- redis_resp3

# ---------------------------------------------------------------- mariadb
mkdir -p "$WORK/mysql"
mariadb-install-db --no-defaults --user=root --datadir="$WORK/mysql/data" --auth-root-authentication-method=normal >"$WORK/mysql/install.log" 2>&1
mariadbd --no-defaults --user=root --datadir="$WORK/mysql/data" --socket="$WORK/mysql/sock" --port=$MYSQL_PORT \
  --bind-address=127.0.0.1 --skip-grant-tables=0 --pid-file="$WORK/mysql/pid" >"$WORK/mysql/server.log" 2>&1 &
PIDS+=($!)
wait_port t $MYSQL_PORT
mariadb --no-defaults -S "$WORK/mysql/sock" -uroot -e "CREATE DATABASE shop; DROP USER IF EXISTS ''@'localhost'; DROP USER IF EXISTS ''@'$(hostname)'; CREATE USER 'weft'@'%' IDENTIFIED BY 'weftpw'; GRANT ALL ON *.* TO 'weft'@'%'; CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(20)); INSERT INTO shop.items VALUES (1,'apple'),(2,'pear');"
MY_V=$(mariadb --version)
mysql_cli() {
  # Statements on stdin: --force continues past an error there (it does not with -e).
  mariadb --no-defaults --force --comments -h127.0.0.1 -P$MYSQL_PORT -uweft -pweftpw shop <<SQL
SELECT * FROM items; INSERT INTO items VALUES (3,'fig'); UPDATE items SET name='kiwi' WHERE id=3; SELECT * FROM nope;
/* traceparent: $TP */ SELECT COUNT(*) FROM items; CREATE USER 'x'@'%' IDENTIFIED BY 'topsecret'; DELETE FROM items WHERE id=3;
SQL
}
capture mysql cli-queries $MYSQL_PORT "$MY_V --force --comments -h127.0.0.1 shop < statements: 'SELECT; INSERT; UPDATE; SELECT from missing table (ERR 1146); traceparent comment SELECT; CREATE USER IDENTIFIED BY (redacted); DELETE' (COM_QUERY)" -- mysql_cli
mysql_prepared() {
  perl -MDBI -e '
    my $dbh = DBI->connect("DBI:mysql:database=shop;host=127.0.0.1;port='$MYSQL_PORT';mysql_server_prepare=1", "weft", "weftpw", {RaiseError=>0, PrintError=>0});
    my $s = $dbh->prepare("SELECT id, name FROM items WHERE id = ?");
    $s->execute(1); $s->fetchall_arrayref; $s->execute(2); $s->fetchall_arrayref;
    my $u = $dbh->prepare("UPDATE items SET name = ? WHERE id = ?"); $u->execute("plum", 2);
    my $bad = $dbh->prepare("INSERT INTO items VALUES (?, ?)"); $bad->execute(1, "dup");
    $dbh->ping; $dbh->disconnect;'
}
capture mysql dbd-prepared $MYSQL_PORT "perl DBD::mysql $(perl -MDBD::mysql -e 'print $DBD::mysql::VERSION') (mysql_server_prepare=1) → MariaDB: COM_STMT_PREPARE/EXECUTE x2 SELECT, UPDATE, INSERT duplicate key (ERR 1062), PING, QUIT" -- mysql_prepared

mysql_field_list() {
  # An interactive client (a pty via script) with auto-rehash lists each table's fields
  # (COM_FIELD_LIST, a multi-packet answer) right after connecting, then runs the statements.
  # The statements come a second later, as typed: the FIELD_LIST answer has gone idle by then.
  { sleep 1; printf 'CREATE TABLE IF NOT EXISTS orders (id INT PRIMARY KEY, item INT);\n'; sleep 0.5; printf 'SELECT COUNT(*) FROM orders;\n'; sleep 0.5; printf 'quit\n'; } |
    script -qec "mariadb --no-defaults --auto-rehash -h127.0.0.1 -P$MYSQL_PORT -uweft -pweftpw shop" /dev/null
}
capture mysql cli-field-list $MYSQL_PORT "$MY_V --auto-rehash in a pty (script -qec): COM_FIELD_LIST per table at connect (column definitions + EOF), then, typed a second later, CREATE TABLE, SELECT COUNT(*), QUIT" -- mysql_field_list
mysql_use_rehash() {
  # `use` in an interactive auto-rehash client rebuilds the completion list (show databases,
  # show tables, COM_FIELD_LIST per table) and then waits at the prompt: the last FIELD_LIST
  # answer is what goes idle before the next statement is typed (the issue's original symptom).
  { sleep 1; printf 'use shop\n'; sleep 1; printf 'CREATE TABLE IF NOT EXISTS notes (id INT PRIMARY KEY, body TEXT);\n'; sleep 1; printf 'quit\n'; } |
    script -qec "mariadb --no-defaults --auto-rehash -h127.0.0.1 -P$MYSQL_PORT -uweft -pweftpw" /dev/null
}
capture mysql cli-use-rehash $MYSQL_PORT "$MY_V --auto-rehash in a pty (script -qec), connected without a database: typed a second apart, 'use shop' (COM_INIT_DB, then the completion rebuild: show databases, show tables, COM_FIELD_LIST for items and orders, two columns each — the last answer goes idle at the prompt), CREATE TABLE, quit (COM_QUIT)" -- mysql_use_rehash
mysql_pings() {
  node "$ROOT/scripts/record-goldens/mysql2-pings.cjs" "$MYSQL_PORT"
}
capture mysql mysql2-pings $MYSQL_PORT "node mysql2 $(node -p "require('$ROOT/node_modules/mysql2/package.json').version") → MariaDB on a non-standard port: connect, 6 × COM_PING, then 12 COM_QUERY (SELECT, INSERT, UPDATE), QUIT; the tests drop the handshake to see the flow mid-connection" -- mysql_pings
mysql_logins() {
  mariadb --no-defaults -h127.0.0.1 -P$MYSQL_PORT -uweft -pwrongpw shop -e 'SELECT 1' || true
  # A user without SUPER/CONNECTION ADMIN, who gets no extra slot past max_connections.
  mariadb --no-defaults -S "$WORK/mysql/sock" -uroot -e "CREATE USER IF NOT EXISTS 'plain'@'%' IDENTIFIED BY 'plainpw'; GRANT SELECT ON shop.* TO 'plain'@'%'; SET GLOBAL max_connections = 1"
  # max_connections cannot go below 10: hold all 10 slots and the extra SUPER slot over the
  # socket, then knock over TCP as a plain user.
  local holders=()
  for _ in $(seq 1 11); do mariadb --no-defaults -S "$WORK/mysql/sock" -uroot -e "SELECT SLEEP(3)" >/dev/null & holders+=($!); done
  sleep 1
  mariadb --no-defaults -h127.0.0.1 -P$MYSQL_PORT -uplain -pplainpw shop -e 'SELECT 2' || true
  wait "${holders[@]}" || true
  mariadb --no-defaults -S "$WORK/mysql/sock" -uroot -e "SET GLOBAL max_connections = 151"
  mariadb --no-defaults -h127.0.0.1 -P$MYSQL_PORT -uweft -pweftpw shop -e 'SELECT 3'
}
capture mysql logins $MYSQL_PORT "$MY_V: a wrong password (ERR 1045 access denied), 'Too many connections' (ERR 1040 instead of the greeting, with max_connections=10 all held over the socket), then a good login running SELECT 3" -- mysql_logins
mysql_compressed() {
  mariadb --no-defaults --compress -h127.0.0.1 -P$MYSQL_PORT -uweft -pweftpw shop -e "SELECT * FROM items; SELECT REPEAT('x', 2000) AS big; UPDATE items SET name = name WHERE id = 1"
}
capture mysql cli-compressed $MYSQL_PORT "$MY_V --compress: the compressed protocol (CLIENT_COMPRESS; 7-byte frame headers, zlib above 50 bytes): SELECT, SELECT REPEAT 2000 (compressed answer), UPDATE" -- mysql_compressed

# ---------------------------------------------------------------- postgresql
PGBIN=/usr/lib/postgresql/15/bin
mkdir -p "$WORK/pg"; chown postgres "$WORK/pg"
runuser -u postgres -- $PGBIN/initdb -D "$WORK/pg/data" -U postgres --auth=trust >"$WORK/pg.init.log" 2>&1
runuser -u postgres -- $PGBIN/postgres -D "$WORK/pg/data" -p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories="$WORK/pg" >"$WORK/pg.log" 2>&1 &
PIDS+=($!)
wait_port t $PG_PORT
PSQL="psql -h 127.0.0.1 -p $PG_PORT -U postgres -X -q"
$PSQL -c "CREATE DATABASE shop" >/dev/null
$PSQL -d shop -c "CREATE TABLE items (id int primary key, name text); INSERT INTO items VALUES (1,'apple'),(2,'pear')" >/dev/null
PSQL_V=$(psql --version)
pg_simple() {
  $PSQL -d shop -c "SELECT * FROM items" -c "INSERT INTO items VALUES (3,'fig')" -c "SELECT * FROM nope" \
    -c "/* traceparent: $TP */ SELECT count(*) FROM items" -c "INSERT INTO items VALUES (1,'dup')" \
    -c "CREATE ROLE weft LOGIN PASSWORD 'topsecret'" -c "DELETE FROM items WHERE id = 3"
}
capture postgres psql-simple $PG_PORT "$PSQL_V -h 127.0.0.1 -d shop -c SELECT -c INSERT -c 'SELECT missing (42P01)' -c 'traceparent comment SELECT' -c 'INSERT dup (23505)' -c 'CREATE ROLE … PASSWORD (redacted)' -c DELETE (simple Query, one connection)" -- pg_simple
printf '\\set id random(1, 2)\nSELECT name FROM items WHERE id = :id;\nUPDATE items SET name = name WHERE id = :id;\n' >"$WORK/bench.sql"
chmod 644 "$WORK/bench.sql"
capture postgres pgbench-prepared $PG_PORT "pgbench ($PSQL_V) -M prepared -n -t 2 -f bench.sql shop: named Parse once, then Bind/Execute/Sync of SELECT and UPDATE" -- \
  pgbench -h 127.0.0.1 -p $PG_PORT -U postgres -M prepared -n -t 2 -f "$WORK/bench.sql" shop
capture postgres pgbench-extended $PG_PORT "pgbench ($PSQL_V) -M extended -n -t 2 -f bench.sql shop: unnamed Parse/Bind/Describe/Execute/Sync each time" -- \
  pgbench -h 127.0.0.1 -p $PG_PORT -U postgres -M extended -n -t 2 -f "$WORK/bench.sql" shop

# A SELECT whose Parse message alone is over the agent's 4 KiB message cap.
{ printf 'SELECT id, name FROM items WHERE id IN (1, 2'; for i in $(seq 3 1200); do printf ', %d' "$i"; done; printf ');\n'; } >"$WORK/big.sql"
chmod 644 "$WORK/big.sql"
capture postgres pgbench-big-select $PG_PORT "pgbench ($PSQL_V) -M extended -n -t 3 -f big.sql shop: a SELECT with a 1200-value IN list (Parse alone ~5.6 KiB, past the 4 KiB message cap), executed" -- \
  pgbench -h 127.0.0.1 -p $PG_PORT -U postgres -M extended -n -t 3 -f "$WORK/big.sql" shop

# ---------------------------------------------------------------- memcached
if command -v memcached >/dev/null; then
  memcached -u nobody -l 127.0.0.1 -p $MEMCACHED_PORT -U 0 >"$WORK/memcached.log" 2>&1 &
  PIDS+=($!)
  wait_port t $MEMCACHED_PORT
  MC_V=$(memcached -V)
  MCS="--servers=127.0.0.1:$MEMCACHED_PORT"
  echo 'hello from weft' >"$WORK/greeting"; seq 1 400 >"$WORK/numbers"
  mc_session() { # extra flags (--binary or none)
    (cd "$WORK" && memccp "$@" $MCS greeting numbers)
    memccat "$@" $MCS greeting numbers nope || true
    memcexist "$@" $MCS greeting || true
    memctouch "$@" $MCS --expire=60 greeting || true
    memcrm "$@" $MCS numbers nope || true
    memcstat "$@" $MCS >/dev/null
  }
  MC_TOOLS="libmemcached-tools $(dpkg-query -W -f='${Version}' libmemcached-tools 2>/dev/null)"
  capture memcached text-tools $MEMCACHED_PORT "$MC_TOOLS (text protocol) → $MC_V on a non-standard port: memccp set ×2, memccat get ×3 (one miss), memcexist, memctouch, memcrm delete ×2 (one NOT_FOUND), memcstat stats" -- mc_session
  capture memcached binary-tools $MEMCACHED_PORT "$MC_TOOLS --binary → $MC_V on a non-standard port: the same session in the binary protocol (set, get with a miss, touch, delete with a miss, stat)" -- mc_session --binary
fi

# ---------------------------------------------------------------- dnsmasq
dnsmasq --keep-in-foreground --no-resolv --no-hosts --listen-address=127.0.0.1 --bind-interfaces --port=$DNS_PORT \
  --address=/api.weft.test/127.0.0.7 --address=/api.weft.test/::7 --local=/weft.test/ --pid-file="$WORK/dnsmasq.pid" --user=root 2>"$WORK/dnsmasq.log" &
PIDS+=($!)
wait_port u $DNS_PORT
DIG_V=$(dig -v 2>&1)
D="dig @127.0.0.1 -p $DNS_PORT +tries=1 +time=2"
dns_udp() { $D api.weft.test A; $D api.weft.test AAAA; $D nope.weft.test A; $D example.org MX; }
capture dns dig-udp $DNS_PORT "$DIG_V via UDP → dnsmasq: api.weft.test A, AAAA, nope.weft.test A (NXDOMAIN), example.org MX (REFUSED, no upstream)" -- dns_udp
dns_tcp() { $D +tcp api.weft.test A; $D +tcp nope.weft.test AAAA; }
capture dns dig-tcp $DNS_PORT "$DIG_V +tcp → dnsmasq: api.weft.test A, nope.weft.test AAAA (NXDOMAIN), 2-byte length prefix" -- dns_tcp
echo "done"
