#!/bin/sh
# Benchmark nginx (TLS ceiling, fixed reply), immutable-guard serve and a
# Flask webhook under gunicorn, side by side on loopback with the same ECDSA
# P-256 certificate. Run through `make bench`, which builds what it needs.
#
#   tests/bench/run.sh OUT_DIR
#
# Environment: BENCH_ROUNDS (3), BENCH_SECONDS (10 per measured run),
# BENCH_SERVERS ("nginx immutable-guard flask"), BENCH_LOADS
# ("ka16 ka64 big16 new1 new8 rate2000"), BENCH_RATE (2000 requests/s).
# Writes OUT_DIR/results.csv, prints the tables and one summary line.
set -u
cd "$(dirname "$0")/../.."
out=$1
rounds=${BENCH_ROUNDS:-3}
seconds=${BENCH_SECONDS:-10}
servers=${BENCH_SERVERS:-"nginx immutable-guard flask"}
loads=${BENCH_LOADS:-"ka16 ka64 big16 new1 new8 rate2000"}
rate=${BENCH_RATE:-2000}
ticks=$(getconf CLK_TCK)
server_pid=""

mkdir -p "$out/nginx"
sh certs/make-dev-certs.sh "$out/certs" || exit 1
python3 tests/bench/make-bodies.py tests/fixtures/admission/external-secret-v2.create.json "$out" || exit 1
cert=$PWD/$out/certs/tls.crt
key=$PWD/$out/certs/tls.key

stop_server() {
    if [ -n "$server_pid" ]; then
        kill -TERM "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
        server_pid=""
    fi
}
trap stop_server EXIT
trap 'stop_server; exit 1' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The server process and its direct children (nginx and gunicorn workers).
server_pids() {
    echo "$server_pid"
    pgrep -P "$server_pid"
}

cpu_ticks() {
    total=0
    for pid in $(server_pids); do
        # Fields 14 and 15 of /proc/PID/stat: utime and stime in clock ticks.
        t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
        total=$((total + t))
    done
    echo "$total"
}

# Sum of a /proc/PID/status field (VmRSS or VmHWM, KiB) over the server's processes.
memory_kib() {
    total=0
    for pid in $(server_pids); do
        v=$(awk -v f="$1:" '$1 == f {print $2}' "/proc/$pid/status" 2>/dev/null)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

write_nginx_conf() {
    # $1 port, $2 TLS session settings and logging (default: no resumption)
    cat >"$out/nginx/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $PWD/$out/nginx/nginx.pid;
error_log $PWD/$out/nginx/error.log warn;
events { worker_connections 4096; }
http {
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  client_max_body_size 8m;
  client_body_buffer_size 16k;
  client_body_temp_path $PWD/$out/nginx/body;
  ssl_protocols TLSv1.2 TLSv1.3;
  ${2:-ssl_session_tickets off; ssl_session_cache off; access_log off;}
  server {
    listen 127.0.0.1:$1 ssl;
    ssl_certificate $cert;
    ssl_certificate_key $key;
    location = /validate { default_type application/json; return 200 '$(cat "$out/reply.json")'; }
  }
}
CONF
}

start_server() {
    # $1 server name, $2 port
    case $1 in
        nginx)
            write_nginx_conf "$2"
            nginx -c "$PWD/$out/nginx/nginx.conf" -p "$PWD/$out/nginx" -e "$PWD/$out/nginx/error.log" &
            server_pid=$!
            ;;
        immutable-guard)
            # Decisions are logged at the default level (info), to /dev/null.
            bin/immutable-guard serve --listen "127.0.0.1:$2" --probe-listen "127.0.0.1:$(free_port)" \
                --tls-cert "$cert" --tls-key "$key" >/dev/null 2>"$out/immutable-guard.err" &
            server_pid=$!
            ;;
        flask)
            gunicorn --chdir tests/bench -k gthread -w 2 --threads 8 --keep-alive 75 \
                --certfile "$cert" --keyfile "$key" -b "127.0.0.1:$2" \
                --error-logfile "$PWD/$out/gunicorn.err" flask_webhook:app &
            server_pid=$!
            ;;
    esac
    # Ready when a real review gets the expected denial (nginx: the fixed reply).
    for _ in $(seq 1 100); do
        reply=$(curl -sk --max-time 2 -H 'Content-Type: application/json' \
            --data-binary "@$out/review-apply.json" "https://127.0.0.1:$2/validate" 2>/dev/null)
        case $reply in
            *'"allowed":false'* | *'"allowed": false'*) return 0 ;;
        esac
        sleep 0.1
    done
    echo "bench: $1 did not deny the apply-time review on port $2; last reply: $reply" >&2
    return 1
}

run_load() {
    # $1 load, $2 port, $3 seconds; prints the RESULT line
    url=https://127.0.0.1:$2/validate
    case $1 in
        ka16) BENCH_BODY=$out/review-apply.json wrk -t2 -c16 -d"$3"s --timeout 5s -s tests/bench/post.lua "$url" ;;
        ka64) BENCH_BODY=$out/review-apply.json wrk -t2 -c64 -d"$3"s --timeout 5s -s tests/bench/post.lua "$url" ;;
        big16) BENCH_BODY=$out/review-1m.json wrk -t2 -c16 -d"$3"s --timeout 10s -s tests/bench/post.lua "$url" ;;
        # wrk resumes TLS sessions on reconnect, so loadgen does the
        # new-connection loads: a full handshake for every request.
        new1) "$out/loadgen" 127.0.0.1 "$2" 0 "$3" 1 "$out/review-apply.json" close ;;
        new8) "$out/loadgen" 127.0.0.1 "$2" 0 "$3" 8 "$out/review-apply.json" close ;;
        rate*) "$out/loadgen" 127.0.0.1 "$2" "$rate" "$3" 8 "$out/review-apply.json" ;;
    esac | grep '^RESULT'
}

field() {
    echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# nginx replies with immutable-guard's own reply to the apply-time review, so that
# the reply size is the same for every server.
if [ ! -x bin/immutable-guard ]; then
    echo "bench: bin/immutable-guard is missing; run make first" >&2
    exit 1
fi
"$out/review-tool" validate enforce <"$out/review-apply.json" 2>/dev/null |
    python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["reply"], separators=(",", ":")))' \
        | sed "s/'/\\\\'/g" >"$out/reply.json" || exit 1

# Resumption check: nginx with a session cache and tickets on, an access log
# of $ssl_session_reused, and the new-connection load. Every connection must
# do a full handshake, or the new-connection rows would be too good.
port=$(free_port)
write_nginx_conf "$port" "ssl_session_tickets on; ssl_session_cache shared:bench:1m;
  log_format reuse \$ssl_session_reused; access_log $PWD/$out/nginx/reuse.log reuse;"
rm -f "$out/nginx/reuse.log"
nginx -c "$PWD/$out/nginx/nginx.conf" -p "$PWD/$out/nginx" -e "$PWD/$out/nginx/error.log" &
server_pid=$!
for _ in $(seq 1 50); do
    curl -sk --max-time 1 -o /dev/null "https://127.0.0.1:$port/validate" -d '{}' && break
    sleep 0.1
done
# Truncate, not remove: nginx keeps writing to the file it opened.
: >"$out/nginx/reuse.log"
run_load new1 "$port" 2 >/dev/null
stop_server
resumed=$(grep -c '^r' "$out/nginx/reuse.log" 2>/dev/null || true)
handshakes=$(cat "$out/nginx/reuse.log" 2>/dev/null | wc -l)
echo "resumption check: ${resumed:-0} of $handshakes new connections resumed a session (expected 0)"
if [ "$handshakes" -eq 0 ] || [ "${resumed:-0}" -ne 0 ]; then
    echo "bench: resumption check failed; see $out/nginx/error.log" >&2
    exit 1
fi

echo "round,load,server,reqs,rps,p50_us,p99_us,max_us,non2xx,errors,cpu_us_per_req,rss_idle_kib,rss_peak_kib" \
    >"$out/results.csv"
for round in $(seq 1 "$rounds"); do
    # Rotate the server order every round so that no server always runs first.
    order=$servers
    for _ in $(seq 2 "$round"); do
        order="$(echo "$order" | cut -d' ' -f2-) $(echo "$order" | cut -d' ' -f1)"
    done
    for load in $loads; do
        for server in $order; do
            port=$(free_port)
            start_server "$server" "$port" || exit 1
            rss_idle=$(memory_kib VmRSS)
            run_load "$load" "$port" 1 >/dev/null
            cpu_before=$(cpu_ticks)
            result=$(run_load "$load" "$port" "$seconds")
            cpu_after=$(cpu_ticks)
            rss_peak=$(memory_kib VmHWM)
            stop_server
            reqs=$(field "$result" reqs)
            cpu_us=$(awk -v t=$((cpu_after - cpu_before)) -v hz="$ticks" -v n="${reqs:-0}" \
                'BEGIN { printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0) }')
            row="$round,$load,$server,$reqs,$(field "$result" rps),$(field "$result" p50_us)"
            row="$row,$(field "$result" p99_us),$(field "$result" max_us),$(field "$result" non2xx)"
            row="$row,$(field "$result" errors),$cpu_us,$rss_idle,$rss_peak"
            echo "$row" >>"$out/results.csv"
            echo "$row"
        done
    done
done
python3 tests/bench/analyze.py "$out/results.csv"
