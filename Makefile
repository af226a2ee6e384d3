# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
SIMULATOR_PORT ?= 8001

.PHONY: run test check bench clean messages poll

$(INSTALLED): pyproject.toml package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@# axe-core for the browser tests' accessibility checks (package-lock.json); the portal needs no Node.
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error; \
	  else echo "No npm: the browser tests' accessibility checks will skip (and fail under CI=true)."; fi
	@touch $@

# A password for the demo sign-ins, made once and kept (untracked) so that reruns print it again.
.demo-password:
	@$(PYTHON) -c "import secrets; print(secrets.token_urlsafe(12))" > $@

# The key that signs the demo's activity log (ACTIVITY_LOG_KEY), made once and kept (untracked) like the
# password: entries signed with it verify only with it.
.activity-log-key:
	@$(PYTHON) -c "import secrets; print(secrets.token_urlsafe(32))" > $@

# make run always uses this SQLite file, whatever DATABASE_URL says, so the demo never lands elsewhere;
# and the Microsoft simulator (its own process, port and data in .simulator/) stands in for Microsoft.
RUN_ENV = DJANGO_DEBUG=true DATABASE_URL="sqlite:///$(CURDIR)/db.sqlite3" \
  ACTIVITY_LOG_KEY="$${ACTIVITY_LOG_KEY:-$$(cat .activity-log-key)}" ACTIVITY_LOG_KEY_ID="$${ACTIVITY_LOG_KEY_ID:-demo}" \
  MICROSOFT_CLOUD=simulated SIMULATOR_URL=https://127.0.0.1:$(SIMULATOR_PORT) \
  REQUESTS_CA_BUNDLE="$(CURDIR)/.simulator/ca.pem" PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
  ENTRA_CLIENT_ID=0d3c9a1e-7b2f-4c8d-9e6a-5f1b2c3d4e5f ENTRA_CLIENT_SECRET=simulated-demo-secret-not-a-real-one

## make run: set up, migrate an SQLite database, fill the Microsoft simulator with the demo partner once and
## sync from it, then run the Procfile (web on http://127.0.0.1:8000, worker, simulator) with honcho
run: $(INSTALLED) .demo-password .activity-log-key
	$(PY) -m simulator certs --state .simulator >/dev/null
	$(RUN_ENV) $(PY) manage.py migrate --no-input
	$(RUN_ENV) DEMO_PASSWORD="$${DEMO_PASSWORD:-$$(cat .demo-password)}" \
	  $(PY) manage.py seed_demo --if-empty --simulator --url http://$(HOST):$(PORT)/
	@rm -f .simulator/url
	$(RUN_ENV) HOST=$(HOST) WEB_PORT=$(PORT) SIMULATOR_PORT=$(SIMULATOR_PORT) $(VENV)/bin/honcho start -f Procfile

## make poll: while make run runs, poll the simulator now for what customers bought themselves (the worker
## does it every PURCHASES_POLL_MINUTES); buy as a customer with `.venv/bin/python -m simulator buy`
poll: $(INSTALLED) .activity-log-key
	$(RUN_ENV) $(PY) manage.py poll_purchases

## make test: the whole suite (PostgreSQL when DATABASE_URL points at one, SQLite otherwise)
# pytest exits 5 when it collected nothing: say so, rather than leave a bare "Error 5".
test: $(INSTALLED)
	@echo "$(VENV)/bin/pytest $(PYTEST_ARGS)"
	@$(VENV)/bin/pytest $(PYTEST_ARGS); status=$$?; \
	  if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests (exit 5)." >&2; fi; \
	  exit $$status

## make check: lint, migrations in step, production settings pass Django's deploy checks
check: $(INSTALLED)
	$(VENV)/bin/ruff check .
	DJANGO_DEBUG=true $(PY) manage.py makemigrations --check --dry-run
	DJANGO_SECRET_KEY=check-only-$$(date +%s)-not-a-real-secret-but-long-enough-for-checks \
	  ACTIVITY_LOG_KEY=check-only-not-a-real-activity-log-key DJANGO_ALLOWED_HOSTS=portal.example $(PY) manage.py check --deploy --fail-level WARNING

## make messages: after changing strings, update the Indonesian catalogue, then translate and rerun
# Needs GNU gettext (Debian: apt-get install gettext). The compiled .mo is committed, so `make run`
# never needs it; tests/i18n checks that the .mo matches the .po and that nothing is untranslated.
messages: $(INSTALLED)
	DJANGO_DEBUG=true $(PY) manage.py makemessages --locale id --no-obsolete
	DJANGO_DEBUG=true $(PY) manage.py compilemessages --locale id --ignore .venv --ignore staticfiles

## make bench: the activity log at ENTRIES entries (default 1,000,000) in a scratch PostgreSQL database
# BENCH_SERVER is the server's URL without a database name; the user must be allowed to create databases.
ENTRIES ?= 1000000
bench: $(INSTALLED)
	$(PY) bench/activity_log.py --entries $(ENTRIES) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) *.egg-info
