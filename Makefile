# The two commands of the README: `make run` and `make test`. Nothing needed but Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
WORKERS ?= 2
# Dependencies are declared once, in setup.cfg (install_requires and the `test` extra).
REQUIREMENTS = $(shell $(PYTHON) -c 'import configparser, shlex; c = configparser.ConfigParser(); \
  c.read("setup.cfg"); print(" ".join(shlex.quote(r) for r in \
  (c["options"]["install_requires"] + c["options.extras_require"]["test"]).split()))')
CATALOGS := $(wildcard app/translations/*/LC_MESSAGES/messages.po)
# The embedded PostgreSQL under instance/ unless DATABASE_URL is set.
WITH_DATABASE = export DATABASE_URL="$${DATABASE_URL:-$$($(BIN)/python -m app.embedded_postgres url)}";

# A local Citus cluster (a coordinator and two workers, root and apt to build it once) from the
# script beside the clone; `make test-citus` runs the tests that must hold on Citus too there.
CITUS_SH ?= ../shared/citus/citus.sh
CITUS_TESTS ?= tests/tenants tests/app/platform/test_fleet_migrations.py tests/app/platform/test_exports.py

.PHONY: run test test-browser test-citus audit install translations extract-messages db-stop bench lint clean help

help:
	@echo "make run    set up, migrate, provision the demo cities, serve on 127.0.0.1:$(PORT)"
	@echo "            (with a job worker beside the web server, started again if it exits)"
	@echo "make test   set up and run the whole test suite against PostgreSQL"
	@echo "make test-browser  the end-to-end suite in Debian's Chromium (tests/browser, docs/testing.md)"
	@echo "make test-citus  the tenancy tests again on a local Citus cluster (docs/scaling.md)"
	@echo "make audit  check the installed dependencies for known vulnerabilities (pip-audit):"
	@echo "            exit 1 if any, 3 if the advisory service could not be reached"
	@echo "make bench  run the benchmarks under bench/ (figures in docs/performance.md)"
	@echo "make db-stop  stop the embedded PostgreSQL"

$(VENV)/.installed: setup.cfg
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(REQUIREMENTS)
	touch $@

install: $(VENV)/.installed translations

translations: $(CATALOGS:.po=.mo)

%.mo: %.po $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -i $< -o $@

extract-messages: install
	$(BIN)/pybabel extract -F config/babel.cfg -k _l -o app/translations/messages.pot app tenants
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching

run: install
	@set -e; $(WITH_DATABASE) \
	$(BIN)/flask platform migrate; \
	$(BIN)/flask tenants migrate --all; \
	$(BIN)/flask demo; \
	( trap 'kill $$job 2>/dev/null; wait $$job; exit 0' INT TERM; \
	  while :; do \
	    $(BIN)/flask worker --concurrency 2 & job=$$!; wait $$job && status=0 || status=$$?; \
	    echo "the job worker exited (status $$status): starting it again in 5 s" >&2; \
	    sleep 5 & job=$$!; wait $$job || :; \
	  done ) & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT INT TERM; \
	echo "serving http://localhost:$(PORT)/ (platform) and http://lishui.localhost:$(PORT)/"; \
	PORT=$(PORT) WEB_WORKERS=$(WORKERS) $(BIN)/gunicorn -c config/gunicorn.py wsgi:app

# The browser suite takes minutes and needs Chromium: its own target (it skips without one).
# The suite runs in one process per core (pytest-xdist; each has a database of its own): most of
# its time is spent waiting on PostgreSQL and on the servers it starts, not computing.
# TEST_PROCESSES=0 runs it in this process (for a debugger).
TEST_PROCESSES ?= auto
test: install lint
	$(BIN)/python -m pytest --ignore=tests/browser -n $(TEST_PROCESSES) --dist loadfile $(PYTEST_ARGS)

test-browser: install
	$(BIN)/python -m pytest tests/browser $(PYTEST_ARGS)

test-citus: install
	@test -f $(CITUS_SH) || { echo "no Citus cluster script at $(CITUS_SH): set CITUS_SH" >&2; exit 1; }
	bash $(CITUS_SH) install
	@set -e; url=$$(bash $(CITUS_SH) start); trap 'bash $(CITUS_SH) stop' EXIT; \
	echo "Citus coordinator: $$url"; \
	TEST_DATABASE_URL=$$url $(BIN)/python -m pytest $(CITUS_TESTS) $(PYTEST_ARGS)

bench: install
	@set -e; for script in bench/[!_]*.py; do $(BIN)/python $$script; done

# AUDIT_UNREACHABLE_OK=1 (CI): an advisory service that can't be reached is said, not failed.
audit: install
	@$(BIN)/python .ci/audit.py || { status=$$?; \
	  if [ $$status = 3 ] && [ -n "$(AUDIT_UNREACHABLE_OK)" ]; then \
	    echo "dependency audit skipped: the advisory service could not be reached"; \
	  else exit $$status; fi; }

lint: install
	$(BIN)/ruff check --config config/ruff.toml .
	$(BIN)/lint-imports --no-cache setup.cfg

db-stop:
	@test ! -x $(BIN)/python || $(BIN)/python -m app.embedded_postgres stop

clean: db-stop
	rm -rf $(VENV) instance
