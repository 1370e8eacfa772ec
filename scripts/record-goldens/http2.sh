#!/usr/bin/env bash
# Records the HTTP/2 parser golden captures (src/agent/protocols/http2/testdata) from real
# programs on 127.0.0.1: Debian's nghttp2 client and server over h2c (prior knowledge, server
# push), the HTTP/1.1 Upgrade to h2c by nghttp and curl (nghttpx in front of nghttpd, since
# nghttpd itself only takes prior knowledge), and @grpc/grpc-js. Same conventions as
# scripts/record-goldens.sh (tcpdump on lo, one .md note per case); then
#   UPDATE_GOLDEN=1 npx vitest run src/agent/protocols/golden.test.ts   and review the diff.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT="$ROOT/src/agent/protocols/http2/testdata"
WORK=$(mktemp -d /tmp/weft-goldens-h2.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
H2_PORT=18747 GRPC_PORT=18757 UPGRADE_PORT=18767
TP='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
mkdir -p "$OUT" "$WORK/www/api/v1"
echo 'hello from weft' >"$WORK/www/a.txt"
seq 1 20000 >"$WORK/www/big.txt"
echo 'body{}' >"$WORK/www/style.css"
echo '{"id":42}' >"$WORK/www/api/v1/users"

capture() { # case port note -- command...
  local name=$1 port=$2 note=$3; shift 4
  local pcap="$OUT/$name.pcap"
  tcpdump -i lo --immediate-mode -U -B 65536 -s 0 -w "$pcap" "port $port" 2>"$WORK/tcpdump.$name.log" &
  local tpid=$!
  for _ in $(seq 1 100); do grep -q 'listening on' "$WORK/tcpdump.$name.log" && break; sleep 0.05; done
  sleep 0.5
  "$@" >"$WORK/$name.out" 2>&1 || true
  sleep 1
  kill -INT "$tpid"; wait "$tpid" || true
  echo "$note" >"$OUT/$name.md"
  echo "recorded http2/$name ($(stat -c %s "$pcap") bytes)"
}

nghttpd --no-tls -a 127.0.0.1 -d "$WORK/www" -p /a.txt=/style.css $H2_PORT >"$WORK/nghttpd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do ss -H -lnt "sport = :$H2_PORT" | grep -q . && break; sleep 0.1; done
NGV=$(nghttp --version | head -1)
U="http://127.0.0.1:$H2_PORT"
capture nghttp-concurrent $H2_PORT "$NGV → nghttpd (same package) --no-tls: nghttp -n -H traceparent $U/api/v1/users $U/big.txt $U/missing $U/a.txt (four concurrent streams on one connection, prior knowledge; nghttpd pushes /style.css with /a.txt)" -- \
  nghttp -n -H "traceparent: $TP" "$U/api/v1/users" "$U/big.txt" "$U/missing" "$U/a.txt"
nghttpx --conf=/dev/null -f"127.0.0.1,$UPGRADE_PORT;no-tls" -b"127.0.0.1,$H2_PORT;;proto=h2" --single-thread >"$WORK/nghttpx.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do ss -H -lnt "sport = :$UPGRADE_PORT" | grep -q . && break; sleep 0.1; done
UU="http://127.0.0.1:$UPGRADE_PORT"
capture nghttp-upgrade $UPGRADE_PORT "$NGV → nghttpx --no-tls (→ nghttpd): nghttp -u -n $UU/api/v1/users $UU/missing (HTTP/1.1 Upgrade: h2c, 101, the first request answered on stream 1, the second sent as HTTP/2 on stream 3)" -- \
  nghttp -u -n "$UU/api/v1/users" "$UU/missing"
CURL_V=$(curl --version | head -1 | cut -d' ' -f1-2)
capture curl-h2c-upgrade $UPGRADE_PORT "$CURL_V → nghttpx --no-tls (→ nghttpd): curl --http2 -H traceparent $UU/api/v1/users $UU/a.txt (HTTP/1.1 Upgrade: h2c; the first request is stream 1, the second stream 3)" -- \
  curl -sS -o /dev/null -o /dev/null --http2 -H "traceparent: $TP" "$UU/api/v1/users" "$UU/a.txt"
GRPC_V=$(node -p "require('$ROOT/node_modules/@grpc/grpc-js/package.json').version")
capture grpc-js-calls $GRPC_PORT "node @grpc/grpc-js $GRPC_V client and server, one connection: Say, then 8 Say (2 NOT_FOUND) and 4 server-streaming Count at once, each with a traceparent" -- \
  node "$ROOT/scripts/record-goldens/grpc-calls.cjs" $GRPC_PORT
# Joined mid-connection: the capture starts after the connection's preface, SETTINGS and first
# calls, so the HPACK tables hold entries it never saw.
if ! ss -H -lnt "sport = :$GRPC_PORT" | grep -q .; then
  node "$ROOT/scripts/record-goldens/grpc-calls.cjs" $GRPC_PORT mid >"$WORK/grpc-mid.out" 2>&1 &
  GPID=$!
  sleep 1
  tcpdump -i lo --immediate-mode -U -B 65536 -s 0 -w "$OUT/grpc-js-mid-connection.pcap" "port $GRPC_PORT" 2>"$WORK/tcpdump.mid.log" &
  TPID=$!
  wait "$GPID" || true
  sleep 1
  kill -INT "$TPID"; wait "$TPID" || true
  echo "node @grpc/grpc-js $GRPC_V, one connection, captured from mid-connection: tcpdump started after Say and 12 concurrent calls, then 3 Say (their :path, content-type, te are indexed HPACK references the capture never saw inserted) and one Late (a new :path, sent as a literal)" >"$OUT/grpc-js-mid-connection.md"
  echo "recorded http2/grpc-js-mid-connection"
fi
