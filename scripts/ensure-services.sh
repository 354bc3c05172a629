#!/usr/bin/env bash
# Install and start what crossdock's tests and demo need on a Debian machine:
# the Distribution registry binary, skopeo, htpasswd, RabbitMQ (running on
# 127.0.0.1:5672), the docker-compose client (to check docker-compose.yml), and
# Chromium for the web console's browser tests (Playwright drives Debian's build:
# it can't download its own).
# Idempotent; needs root (or sudo) only for what is missing.
set -euo pipefail

need=()
# A fresh Debian may lack Python's venv (crossdock needs Python >= 3.11: Debian 12 has it).
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3 python3-venv python3-pip)
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
command -v rabbitmq-server >/dev/null 2>&1 || need+=(rabbitmq-server)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)  # validates the compose file
command -v chromium >/dev/null 2>&1 || need+=(chromium)  # the console's browser tests

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# `make demo` starts (and later stops) RabbitMQ itself, so it only installs.
[ "${1:-}" = "--install-only" ] && exit 0

amqp_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

if ! amqp_up; then
  echo "starting RabbitMQ"
  $SUDO rabbitmq-server -detached || true
  for _ in $(seq 1 60); do amqp_up && break; sleep 1; done
  amqp_up || { echo "RabbitMQ did not come up on 127.0.0.1:5672" >&2; exit 1; }
  # The port opens a little before the broker accepts logins.
  for _ in $(seq 1 30); do $SUDO rabbitmqctl -q await_startup >/dev/null 2>&1 && break; sleep 1; done
fi

# PostgreSQL for the store tests (postgresql://postgres@127.0.0.1:5432/test, trust):
# use the one that answers, else install and start Debian's.
pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

if ! pg_up; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "installing PostgreSQL"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      postgresql >/dev/null
  fi
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$version" ]; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
    $SUDO pg_createcluster "$version" main >/dev/null
  fi
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  # The tests log in as postgres over TCP without a password (loopback only).
  if ! $SUDO grep -q "crossdock tests" "$hba"; then
    $SUDO sed -i '1i host all postgres 127.0.0.1/32 trust  # crossdock tests' "$hba"
  fi
  echo "starting PostgreSQL $version"
  $SUDO pg_ctlcluster "$version" main start 2>/dev/null || $SUDO pg_ctlcluster "$version" main reload
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  pg_up || { echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2; exit 1; }
  if ! $SUDO runuser -u postgres -- psql -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" \
      | grep -q 1; then
    $SUDO runuser -u postgres -- createdb test
  fi
fi
