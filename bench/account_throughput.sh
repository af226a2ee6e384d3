#!/usr/bin/env bash
# Throughput of a customer's Account page for a signed-in Admin agent, under gunicorn on PostgreSQL.
# Usage: bench/account_throughput.sh [seconds per run] [connections] [runs]   (needs wrk: apt-get install wrk)
# It uses a scratch database (portal_bench) that it drops and recreates; production settings, DEBUG off.
# Shared machines steal CPU: it prints the steal time seen during the runs beside the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-15}
CONNECTIONS=${2:-8}
RUNS=${3:-3}
WORKERS=${WORKERS:-4}
PORT=${PORT:-8099}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

export DATABASE_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portal_bench}
DJANGO_SECRET_KEY=bench-only-not-a-secret-$(python3 -c "import secrets; print(secrets.token_hex(24))")
ACTIVITY_LOG_KEY=bench-only-$(python3 -c "import secrets; print(secrets.token_hex(24))")
# The bench signs in with a session, not a second factor: MFA is asked of people, not of this load.
export REQUIRE_MFA=false
export DJANGO_SETTINGS_MODULE=bench.settings DJANGO_CONN_MAX_AGE=3600 DJANGO_SECRET_KEY ACTIVITY_LOG_KEY DJANGO_ALLOWED_HOSTS=127.0.0.1 DJANGO_SECURE_SSL_REDIRECT=false DJANGO_LOG_LEVEL=WARNING
PY=.venv/bin/python

psql "${DATABASE_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS ${DATABASE_URL##*/}" \
  -c "CREATE DATABASE ${DATABASE_URL##*/}" 2>/dev/null
$PY manage.py migrate -v0
$PY manage.py collectstatic --no-input -v0
DEMO_PASSWORD=bench-password-123 $PY manage.py seed_demo >/dev/null
psql "$DATABASE_URL" -qc "VACUUM ANALYZE"
read -r SESSION TENANT < <($PY manage.py shell -v0 -c "
from django.test import Client
from permissions.models import PurchasePermission
from portal.models import Agent
client = Client()
client.force_login(Agent.objects.get(email='admin@partner.example'))
customer = PurchasePermission.objects.select_related('customer').first().customer
print(client.cookies['sessionid'].value, customer.tenant_id)
")

.venv/bin/gunicorn -c gunicorn.conf.py portal.wsgi --workers "$WORKERS" --bind "127.0.0.1:$PORT" --max-requests 0 \
  --access-logfile /dev/null >/tmp/bench-gunicorn.log 2>&1 &
GUNICORN=$!
trap 'kill $GUNICORN 2>/dev/null; wait $GUNICORN 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/livez" >/dev/null && break; sleep 0.2; done

steal() { awk '/^cpu /{print $9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
# CPU time (clock ticks) spent so far by the gunicorn master and workers, and by the PostgreSQL
# backends serving them (persistent connections; autovacuum and other server processes left out).
cpu_ticks() {
  local pids; pids="$GUNICORN $(pgrep -P "$GUNICORN" | tr '\n' ' ')"
  # shellcheck disable=SC2086
  echo "$(cat $(printf '/proc/%s/stat ' $pids) 2>/dev/null | awk '{t+=$14+$15} END {print t}')" \
       "$(pgrep -u postgres -f " ${DATABASE_URL##*/} " | sed 's|.*|/proc/&/stat|' | xargs cat 2>/dev/null \
          | awk '{t+=$14+$15} END {print t+0}')"
}
TICK_MS=$(( 1000 / $(getconf CLK_TCK) ))

measure() {  # measure LABEL PATH: warm up, then RUNS runs; prints each and the median
  local target="http://127.0.0.1:$PORT$2" status out rps results=()
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: sessionid=$SESSION" "$target")
  [ "$status" = 200 ] || { echo "$2 answered $status, not 200" >&2; exit 1; }
  wrk -t2 -c "$CONNECTIONS" -d3s -H "Cookie: sessionid=$SESSION" "$target" >/dev/null
  echo "$1: $2"
  for run in $(seq "$RUNS"); do
    read -r app0 db0 < <(cpu_ticks)
    out=$(wrk -t2 -c "$CONNECTIONS" -d "${DURATION}s" --latency -H "Cookie: sessionid=$SESSION" "$target")
    read -r app1 db1 < <(cpu_ticks)
    rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
    requests=$(awk '/requests in/{print $1}' <<<"$out")
    cpu=$(awk -v a=$((app1 - app0)) -v d=$((db1 - db0)) -v n="$requests" -v t="$TICK_MS" \
      'BEGIN {printf "CPU per request: app %.2f ms + PostgreSQL %.2f ms = capacity of 2 cores %.0f requests/s", a*t/n, d*t/n, 2000/((a+d)*t/n)}')
    CPU_MS[$1]+="$(awk -v a=$((app1 - app0)) -v d=$((db1 - db0)) -v n="$requests" -v t="$TICK_MS" \
      'BEGIN {printf "%.3f", (a+d)*t/n}') "
    echo "  run $run: $rps requests/s, latency p50 $(awk '$1=="50%"{print $2}' <<<"$out"), p99 $(awk '$1=="99%"{print $2}' <<<"$out"); $cpu $(grep -E "Non-2xx|Socket errors" <<<"$out" || true)"
    results+=("$rps")
  done
  printf '%s\n' "${results[@]}" | sort -n | awk -v label="$1" '{v[NR]=$1} END {printf "  %s median: %.1f requests/s\n", label, v[int((NR+1)/2)]}'
}

declare -A CPU_MS  # label -> CPU ms per request (app + PostgreSQL) of each run
median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo "gunicorn: $WORKERS workers (gthread), PostgreSQL; wrk: $CONNECTIONS connections, $RUNS runs of ${DURATION}s"
read -r STEAL0 TOTAL0 < <(steal)
# Alternate the two pages so that a change in the host's load falls on both alike.
for round in 1 2; do
  measure "Account page (portal)" "/customers/$TENANT/account/"
  measure "Bare Django page, same data (baseline)" "/bench/bare/$TENANT/"
  measure "Bare Django page, customer and permissions only (the first round's baseline)" "/bench/minimal/$TENANT/"
done
read -r STEAL1 TOTAL1 < <(steal)
echo "CPU stolen by the host during the runs: $(( 100 * (STEAL1 - STEAL0) / (TOTAL1 - TOTAL0 + 1) ))%"
# The standard's figure: the Account page's throughput on CPU as a fraction of the baseline's (baseline CPU
# per request / Account CPU per request; 1 means as cheap, the goal is at least 0.75).
ACCOUNT=$(median <<<"${CPU_MS["Account page (portal)"]}")
for label in "Bare Django page, same data (baseline)" \
             "Bare Django page, customer and permissions only (the first round's baseline)"; do
  BASE=$(median <<<"${CPU_MS[$label]}")
  awk -v a="$ACCOUNT" -v b="$BASE" -v l="$label" \
    'BEGIN {printf "Account page on CPU: %.2f of the %s (%.2f ms against %.2f ms a request)\n", b/a, l, a, b}'
done
