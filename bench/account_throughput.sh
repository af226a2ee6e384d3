#!/usr/bin/env bash
# Throughput of a customer's Account page for a signed-in Admin agent, under gunicorn on PostgreSQL.
# Usage: bench/account_throughput.sh [seconds] [connections]   (needs wrk from Debian's packages)
# It uses a scratch database (portal_bench) that it drops and recreates; production settings, DEBUG off.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-20}
CONNECTIONS=${2:-8}
WORKERS=${WORKERS:-4}
PORT=${PORT:-8099}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

export DATABASE_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/portal_bench}
export DJANGO_SECRET_KEY=bench-only-not-a-secret-$(date +%s)
export DJANGO_ALLOWED_HOSTS=127.0.0.1 DJANGO_SECURE_SSL_REDIRECT=false DJANGO_LOG_LEVEL=WARNING
PY=.venv/bin/python

psql "${DATABASE_URL%/*}/postgres" -qc "DROP DATABASE IF EXISTS ${DATABASE_URL##*/}" -c "CREATE DATABASE ${DATABASE_URL##*/}"
$PY manage.py migrate -v0
$PY manage.py collectstatic --no-input -v0
DEMO_PASSWORD=bench-password-123 $PY manage.py seed_demo >/dev/null
read -r SESSION URL < <($PY manage.py shell -v0 -c "
from django.test import Client
from permissions.models import PurchasePermission
from portal.models import Agent
client = Client()
client.force_login(Agent.objects.get(email='admin@partner.example'))
customer = PurchasePermission.objects.select_related('customer').first().customer
print(client.cookies['sessionid'].value, customer.get_absolute_url())
")

.venv/bin/gunicorn -c gunicorn.conf.py portal.wsgi --workers "$WORKERS" --bind "127.0.0.1:$PORT" \
  --access-logfile /dev/null >/tmp/bench-gunicorn.log 2>&1 &
GUNICORN=$!
trap 'kill $GUNICORN 2>/dev/null; wait $GUNICORN 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/livez" >/dev/null && break; sleep 0.2; done

STATUS=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: sessionid=$SESSION" "http://127.0.0.1:$PORT$URL")
[ "$STATUS" = 200 ] || { echo "Account page answered $STATUS, not 200" >&2; exit 1; }
echo "Account page $URL: $WORKERS gunicorn workers, PostgreSQL, $CONNECTIONS connections, ${DURATION}s"
wrk -t2 -c "$CONNECTIONS" -d "${DURATION}s" --latency -H "Cookie: sessionid=$SESSION" "http://127.0.0.1:$PORT$URL" \
  | grep -E "Requests/sec|Latency|50%|99%|requests in|Non-2xx"
