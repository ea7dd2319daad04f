#!/usr/bin/env python3
"""Writes the three example packages of examples/release/ next to this script.

    python3 examples/release/packages/make-packages.py          # (re)write the packages
    python3 examples/release/packages/make-packages.py --check  # compare with the files on disk

The packages are real archives that Octopus' built-in feed accepts (two zips and a nupkg),
small on purpose: a tiny payments API, its SQL migrations, and the static hosted payment page.

Output is deterministic: fixed entry order, fixed timestamps (1980-01-01 00:00:00, the
earliest a zip can hold), fixed permission bits, "made by" Unix, deflate level 9, no
comments, no extra fields. Running it twice gives identical bytes. The deflate stream
comes from the zlib that Python links; zlib 1.2.x/1.3.x agree, but a different deflate
implementation (zlib-ng, as some distributions ship) may produce other, equally valid,
bytes. `--check` says so instead of silently rewriting the committed files.

Standard library only.
"""

import hashlib
import io
import os
import sys
import zipfile
from pathlib import Path

VERSION = "2026.11.3"
EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
EXEC_MODE = 0o100755
HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------------------
# Payments.Api: a small WSGI service (standard library plus python3-psycopg from the PCI
# base image). It only ever sees acquirer card tokens, never card numbers.
# ---------------------------------------------------------------------------------------

API_INIT = f'''"""Payments API."""

__version__ = "{VERSION}"
'''

API_MAIN = '''"""Entry point: python3 -m payments_api --config appsettings.json"""

import argparse
import logging
from wsgiref.simple_server import make_server

from .app import PaymentsApp
from .config import load_config


def main() -> None:
    parser = argparse.ArgumentParser(prog="payments_api")
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    config = load_config(args.config)
    logging.basicConfig(level=config["Logging"]["Level"].upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    listen = config["Listen"]
    with make_server(listen["Host"], int(listen["Port"]), PaymentsApp(config)) as server:
        logging.getLogger("payments_api").info("listening on %s:%s", listen["Host"], listen["Port"])
        server.serve_forever()


main()
'''

API_CONFIG = '''"""Reads appsettings.json; secrets come from files that only the service user can read."""

import json
from pathlib import Path


def _read_secret(path: str) -> str:
    p = Path(path)
    return p.read_text(encoding="utf-8").strip() if p.exists() else ""


def load_config(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    db = config["Database"]
    db["Password"] = _read_secret(db.pop("PasswordFile"))
    acquirer = config["Acquirer"]
    acquirer["ApiKey"] = _read_secret(acquirer.pop("ApiKeyFile"))
    if acquirer["Mode"] == "live" and not acquirer["ApiKey"]:
        raise SystemExit("acquirer mode is live but no API key is installed")
    return config
'''

API_APP = '''"""HTTP surface: GET /health, POST /v1/payments, GET /v1/payments/<id>."""

import json
import logging
import re
import uuid

from . import __version__
from .validation import PaymentRequest, ValidationError

LOG = logging.getLogger("payments_api.app")
PAYMENT_PATH = re.compile(r"^/v1/payments/([0-9a-f-]{36})$")


class PaymentsApp:
    def __init__(self, config: dict) -> None:
        self.config = config
        self.environment = config["Environment"]

    def __call__(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        try:
            if method == "GET" and path == "/health":
                return self._json(start_response, 200, {"status": "ok", "version": __version__,
                                                        "environment": self.environment})
            if method == "POST" and path == "/v1/payments":
                return self._create(environ, start_response)
            match = PAYMENT_PATH.match(path)
            if method == "GET" and match:
                return self._json(start_response, 404, {"error": "not-found", "id": match.group(1)})
            return self._json(start_response, 404, {"error": "not-found"})
        except ValidationError as err:
            return self._json(start_response, 422, {"error": "invalid-request", "detail": str(err)})

    def _create(self, environ, start_response):
        key = environ.get("HTTP_IDEMPOTENCY_KEY", "")
        if not 16 <= len(key) <= 64:
            raise ValidationError("Idempotency-Key header of 16 to 64 characters is required")
        length = min(int(environ.get("CONTENT_LENGTH") or 0), 16 * 1024)
        request = PaymentRequest.parse(json.loads(environ["wsgi.input"].read(length) or b"{}"))
        payment_id = str(uuid.uuid4())
        # The token is logged by its last four characters only (PCI DSS 3.4).
        LOG.info("payment %s merchant=%s amount=%d %s token=...%s", payment_id, request.merchant_id,
                 request.amount_minor, request.currency, request.card_token[-4:])
        return self._json(start_response, 202, {"id": payment_id, "status": "pending"})

    @staticmethod
    def _json(start_response, status: int, body: dict):
        data = json.dumps(body).encode("utf-8")
        reason = {200: "OK", 202: "Accepted", 404: "Not Found", 422: "Unprocessable Entity"}[status]
        start_response(f"{status} {reason}", [("Content-Type", "application/json"),
                                              ("Content-Length", str(len(data))),
                                              ("Cache-Control", "no-store")])
        return [data]
'''

API_VALIDATION = '''"""Request validation. Anything that looks like a card number is refused outright."""

import re
from dataclasses import dataclass

CURRENCIES = {"CHF", "EUR", "GBP", "SEK", "USD"}
MAX_AMOUNT_MINOR = 10_000_000
TOKEN = re.compile(r"^tok_[A-Za-z0-9]{24,64}$")
PAN_LIKE = re.compile(r"\\b\\d{13,19}\\b")


class ValidationError(ValueError):
    pass


@dataclass(frozen=True)
class PaymentRequest:
    merchant_id: str
    amount_minor: int
    currency: str
    card_token: str

    @classmethod
    def parse(cls, body: dict) -> "PaymentRequest":
        if PAN_LIKE.search(str(body)):
            raise ValidationError("request contains a card number; send the acquirer token instead")
        amount = body.get("amount_minor")
        if not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT_MINOR:
            raise ValidationError("amount_minor must be an integer between 1 and 10000000")
        if body.get("currency") not in CURRENCIES:
            raise ValidationError("currency must be one of " + ", ".join(sorted(CURRENCIES)))
        if not TOKEN.match(str(body.get("card_token", ""))):
            raise ValidationError("card_token must be an acquirer token (tok_...)")
        merchant = str(body.get("merchant_id", ""))
        if not re.fullmatch(r"m_[a-z0-9]{8,32}", merchant):
            raise ValidationError("merchant_id is malformed")
        return cls(merchant, amount, body["currency"], body["card_token"])
'''

# Octopus substitutes #{...} in this file (Substitute Variables in Templates).
API_SETTINGS = '''{
  "Environment": "#{Octopus.Environment.Name}",
  "Listen": {
    "Host": "127.0.0.1",
    "Port": #{Payments.Api.ListenPort}
  },
  "Database": {
    "Host": "#{Payments.Db.Host}",
    "Port": 5432,
    "Name": "#{Payments.Db.Name}",
    "User": "#{Payments.Db.User}",
    "SslMode": "#{Payments.Db.SslMode}",
    "PasswordFile": "/etc/payments-api/db-password"
  },
  "Acquirer": {
    "Mode": "#{Payments.Acquirer.Mode}",
    "BaseUrl": "#{Payments.Acquirer.BaseUrl}",
    "ApiKeyFile": "/etc/payments-api/acquirer-api-key",
    "TimeoutSeconds": 10
  },
  "Logging": {
    "Level": "#{Payments.Api.LogLevel}",
    "Syslog": "#{Shared.Syslog.Host}:#{Shared.Syslog.Port}"
  }
}
'''

API_UNIT = '''[Unit]
Description=Payments API
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=payments
Group=payments
WorkingDirectory=/opt/payments-api/current
ExecStart=/usr/bin/python3 -m payments_api --config /opt/payments-api/current/appsettings.json
Restart=on-failure
RestartSec=2
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ReadOnlyPaths=/etc/payments-api
CapabilityBoundingSet=

[Install]
WantedBy=multi-user.target
'''

# Octopus runs PostDeploy.sh from the package root after extraction and substitution.
API_POSTDEPLOY = '''#!/bin/bash
# Installs the secrets as files only the service user can read, then restarts the service
# and waits until it reports healthy. Secrets never go into appsettings.json.
set -euo pipefail

install -d -m 0750 -o root -g payments /etc/payments-api
write_secret() { # NAME FILE
    local value
    value=$(get_octopusvariable "$1")
    if [ -z "$value" ]; then
        rm -f "$2"
        return
    fi
    ( umask 027; printf '%s' "$value" > "$2.new" )
    chgrp payments "$2.new"
    mv -f "$2.new" "$2"
}
write_secret "Payments.Db.Password" /etc/payments-api/db-password
write_secret "Payments.Acquirer.ApiKey" /etc/payments-api/acquirer-api-key

install -m 0644 payments-api.service /etc/systemd/system/payments-api.service
systemctl daemon-reload
systemctl enable payments-api.service
systemctl restart payments-api.service

port=$(get_octopusvariable "Payments.Api.ListenPort")
for _ in $(seq 1 30); do
    if curl -fsS "http://127.0.0.1:${port}/health" >/dev/null; then
        echo "payments-api is healthy"
        exit 0
    fi
    sleep 1
done
journalctl -u payments-api.service -n 50 --no-pager || true
fail_step "payments-api did not become healthy within 30 seconds"
'''

# ---------------------------------------------------------------------------------------
# Payments.Migrations: forward-only SQL migrations and the runner that applies them.
# ---------------------------------------------------------------------------------------

MIG_RUNNER = '''#!/bin/bash
# Usage: migrate.sh MIGRATIONS_DIR
# Applies MIGRATIONS_DIR/V<version>__<name>.sql in version order, each in one transaction,
# and records it in schema_migrations. Re-running is a no-op; a migration that was changed
# after it was applied stops the run. The connection comes from the PG* environment.
set -euo pipefail
dir=${1:?usage: migrate.sh MIGRATIONS_DIR}

psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
SQL

find "$dir" -maxdepth 1 -name 'V*__*.sql' -printf '%f\\n' | sort -V | while read -r name; do
    version=${name%%__*}
    version=${version#V}
    [[ $version =~ ^[0-9]+(\\.[0-9]+)*$ ]] || { echo "bad migration name: $name" >&2; exit 1; }
    sum=$(sha256sum "$dir/$name" | cut -d' ' -f1)
    applied=$(psql -X -Atq -v ON_ERROR_STOP=1 \\
        -c "SELECT checksum FROM schema_migrations WHERE version = '$version'")
    if [ -n "$applied" ]; then
        if [ "$applied" != "$sum" ]; then
            echo "migration $name was changed after it was applied" >&2
            exit 1
        fi
        continue
    fi
    echo "applying $name"
    psql -X -q -1 -v ON_ERROR_STOP=1 -f "$dir/$name" \\
        -c "INSERT INTO schema_migrations (version, checksum) VALUES ('$version', '$sum')"
done
'''

MIG_1 = '''-- Payments, as authorised by the acquirer. Card data is held only as acquirer tokens.
CREATE TABLE payments (
    id                 uuid PRIMARY KEY,
    merchant_id        text NOT NULL,
    amount_minor       bigint NOT NULL CHECK (amount_minor > 0),
    currency           char(3) NOT NULL,
    card_token         text NOT NULL CHECK (card_token LIKE 'tok\\_%'),
    status             text NOT NULL
                       CHECK (status IN ('pending', 'authorised', 'declined', 'captured')),
    acquirer_reference text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX payments_merchant_created_idx ON payments (merchant_id, created_at DESC);

GRANT SELECT, INSERT, UPDATE ON payments TO payments_app;
'''

MIG_2 = '''-- Idempotency keys: a retried POST /v1/payments returns the first payment.
CREATE TABLE idempotency_keys (
    merchant_id  text NOT NULL,
    key          text NOT NULL CHECK (length(key) BETWEEN 16 AND 64),
    payment_id   uuid NOT NULL REFERENCES payments (id),
    request_hash bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, key)
);

GRANT SELECT, INSERT ON idempotency_keys TO payments_app;
'''

MIG_3 = '''-- Refunds, partial or full, against captured payments.
ALTER TABLE payments DROP CONSTRAINT payments_status_check;
ALTER TABLE payments ADD CONSTRAINT payments_status_check
    CHECK (status IN ('pending', 'authorised', 'declined', 'captured', 'refunded',
                      'partially_refunded'));

CREATE TABLE refunds (
    id                 uuid PRIMARY KEY,
    payment_id         uuid NOT NULL REFERENCES payments (id),
    amount_minor       bigint NOT NULL CHECK (amount_minor > 0),
    reason             text NOT NULL,
    acquirer_reference text,
    created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX refunds_payment_idx ON refunds (payment_id);

GRANT SELECT, INSERT ON refunds TO payments_app;
'''

MIG_4 = '''-- Audit trail of status changes (PCI DSS 10.2): written by trigger, never by the app.
CREATE TABLE payment_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id uuid NOT NULL,
    old_status text,
    new_status text NOT NULL,
    db_user    text NOT NULL DEFAULT current_user,
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION record_payment_event() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO payment_events (payment_id, old_status, new_status)
        VALUES (NEW.id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status);
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER payments_status_audit
    AFTER INSERT OR UPDATE OF status ON payments
    FOR EACH ROW EXECUTE FUNCTION record_payment_event();

REVOKE ALL ON payment_events FROM PUBLIC;
GRANT SELECT ON payment_events TO payments_auditor;
'''

# ---------------------------------------------------------------------------------------
# Payments.Web: the hosted payment page (static files behind nginx), packed as a nupkg.
# Card fields are the acquirer's hosted fields (iframes): card data never touches our DOM.
# ---------------------------------------------------------------------------------------

WEB_NUSPEC = f'''<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>Payments.Web</id>
    <version>{VERSION}</version>
    <title>Payments hosted payment page</title>
    <authors>Payments Team</authors>
    <requireLicenseAcceptance>false</requireLicenseAcceptance>
    <description>Static hosted payment page and its nginx site configuration.</description>
    <releaseNotes>Stricter Content-Security-Policy; hosted fields loaded from the environment's acquirer origin.</releaseNotes>
  </metadata>
</package>
'''

WEB_CONTENT_TYPES = '''<?xml version="1.0" encoding="utf-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
  <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml" />
  <Default Extension="nuspec" ContentType="application/octet" />
  <Default Extension="html" ContentType="application/octet" />
  <Default Extension="js" ContentType="application/octet" />
  <Default Extension="css" ContentType="application/octet" />
  <Default Extension="conf" ContentType="application/octet" />
  <Default Extension="sh" ContentType="application/octet" />
</Types>
'''

WEB_RELS = '''<?xml version="1.0" encoding="utf-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
  <Relationship Type="http://schemas.microsoft.com/packaging/2010/07/manifest" Target="/Payments.Web.nuspec" Id="R5f0d2a3c9b1e4d67" />
</Relationships>
'''

WEB_INDEX = '''<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Secure payment</title>
  <link rel="stylesheet" href="css/checkout.css">
  <script src="config.js"></script>
  <script src="js/checkout.js" defer></script>
</head>
<body>
  <main class="checkout">
    <h1>Pay <span id="amount"></span></h1>
    <form id="payment-form" novalidate>
      <label>Cardholder name <input id="name" autocomplete="cc-name" required></label>
      <!-- The acquirer's hosted fields render card number, expiry and CVC in iframes. -->
      <div id="card-number" class="hosted-field"></div>
      <div class="row">
        <div id="card-expiry" class="hosted-field"></div>
        <div id="card-cvc" class="hosted-field"></div>
      </div>
      <button type="submit" id="pay">Pay now</button>
      <p id="message" role="status"></p>
    </form>
  </main>
</body>
</html>
'''

WEB_JS = '''"use strict";
// Tokenises the card in the acquirer's hosted fields, then sends only the token to our API.
(function () {
  const config = window.PAYMENTS_CONFIG;
  const params = new URLSearchParams(window.location.search);
  const amountMinor = Number.parseInt(params.get("amount_minor") || "0", 10);
  const currency = (params.get("currency") || "EUR").toUpperCase();
  const message = document.getElementById("message");

  document.getElementById("amount").textContent =
    new Intl.NumberFormat(undefined, { style: "currency", currency }).format(amountMinor / 100);

  function idempotencyKey() {
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  const key = idempotencyKey();
  let fields = null;
  const acquirer = document.createElement("script");
  acquirer.src = config.hostedFieldsUrl;
  acquirer.onload = () => {
    fields = window.HostedFields.mount({
      number: "#card-number", expiry: "#card-expiry", cvc: "#card-cvc",
    });
  };
  document.head.appendChild(acquirer);

  document.getElementById("payment-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (fields === null) {
      message.textContent = "The payment form is still loading.";
      return;
    }
    document.getElementById("pay").disabled = true;
    message.textContent = "Processing...";
    try {
      const token = await fields.tokenize({ name: document.getElementById("name").value });
      const response = await fetch(config.apiBaseUrl + "/v1/payments", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": key },
        body: JSON.stringify({
          merchant_id: params.get("merchant_id"), amount_minor: amountMinor, currency,
          card_token: token.id,
        }),
      });
      const body = await response.json();
      message.textContent = response.ok ? "Payment received." : "Payment refused: " + body.detail;
    } catch (err) {
      message.textContent = "Payment could not be sent. Please try again.";
    } finally {
      document.getElementById("pay").disabled = false;
    }
  });
})();
'''

WEB_CSS = '''.checkout { max-width: 28rem; margin: 3rem auto; font-family: system-ui, sans-serif; }
.checkout h1 { font-size: 1.4rem; font-weight: 600; }
.checkout label, .hosted-field { display: block; margin-bottom: 1rem; }
.checkout input, .hosted-field { width: 100%; padding: .6rem; border: 1px solid #b8bec6;
  border-radius: .3rem; box-sizing: border-box; min-height: 2.6rem; }
.checkout .row { display: flex; gap: 1rem; }
.checkout .row .hosted-field { flex: 1; }
.checkout button { width: 100%; padding: .8rem; border: 0; border-radius: .3rem;
  background: #0b5cad; color: #fff; font-size: 1rem; cursor: pointer; }
.checkout button:disabled { background: #7c9cc0; cursor: wait; }
#message { min-height: 1.5rem; }
'''

# Substituted by Octopus at deployment (Substitute Variables in Templates).
WEB_CONFIG = '''window.PAYMENTS_CONFIG = Object.freeze({
  environment: "#{Octopus.Environment.Name}",
  apiBaseUrl: "https://#{Payments.Api.PublicHostname}",
  hostedFieldsUrl: "#{Payments.Acquirer.HostedFieldsUrl}",
  release: "#{Octopus.Release.Number}"
});
'''

WEB_NGINX = '''# Managed by Octopus (Payments.Web). Changes here are overwritten at the next deployment.
server {
    listen 443 ssl http2;
    server_name #{Payments.Web.Hostname};

    ssl_certificate     /etc/pki/tls/certs/payments-web.crt;
    ssl_certificate_key /etc/pki/tls/private/payments-web.key;
    ssl_protocols       TLSv1.2 TLSv1.3;
    ssl_ciphers         ECDHE+AESGCM:ECDHE+CHACHA20;

    root /var/www/payments-web/current/wwwroot;
    index index.html;

    add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;
    add_header Content-Security-Policy "default-src 'self'; script-src 'self' #{Payments.Acquirer.HostedFieldsOrigin}; frame-src #{Payments.Acquirer.HostedFieldsOrigin}; connect-src 'self' https://#{Payments.Api.PublicHostname}; frame-ancestors 'none'" always;
    add_header X-Content-Type-Options nosniff always;
    add_header Referrer-Policy no-referrer always;
    add_header Cache-Control "no-store" always;

    access_log syslog:server=#{Shared.Syslog.Host}:#{Shared.Syslog.Port},tag=payments_web;

    location / {
        try_files $uri $uri/ =404;
    }
}
'''

WEB_POSTDEPLOY = '''#!/bin/bash
# Octopus runs this after extraction and substitution: install the site, test, reload.
set -euo pipefail
install -m 0644 nginx/payments-web.conf /etc/nginx/conf.d/payments-web.conf
nginx -t
systemctl reload nginx
'''

PACKAGES = {
    f"Payments.Api.{VERSION}.zip": [
        ("payments_api/__init__.py", API_INIT, FILE_MODE),
        ("payments_api/__main__.py", API_MAIN, FILE_MODE),
        ("payments_api/app.py", API_APP, FILE_MODE),
        ("payments_api/config.py", API_CONFIG, FILE_MODE),
        ("payments_api/validation.py", API_VALIDATION, FILE_MODE),
        ("appsettings.json", API_SETTINGS, FILE_MODE),
        ("payments-api.service", API_UNIT, FILE_MODE),
        ("PostDeploy.sh", API_POSTDEPLOY, EXEC_MODE),
    ],
    f"Payments.Migrations.{VERSION}.zip": [
        ("migrate.sh", MIG_RUNNER, EXEC_MODE),
        ("migrations/V2026.09.1__create_payments.sql", MIG_1, FILE_MODE),
        ("migrations/V2026.10.1__idempotency_keys.sql", MIG_2, FILE_MODE),
        ("migrations/V2026.11.1__refunds.sql", MIG_3, FILE_MODE),
        ("migrations/V2026.11.3__payment_events_audit.sql", MIG_4, FILE_MODE),
    ],
    f"Payments.Web.{VERSION}.nupkg": [
        ("_rels/.rels", WEB_RELS, FILE_MODE),
        ("Payments.Web.nuspec", WEB_NUSPEC, FILE_MODE),
        ("[Content_Types].xml", WEB_CONTENT_TYPES, FILE_MODE),
        ("wwwroot/index.html", WEB_INDEX, FILE_MODE),
        ("wwwroot/config.js", WEB_CONFIG, FILE_MODE),
        ("wwwroot/js/checkout.js", WEB_JS, FILE_MODE),
        ("wwwroot/css/checkout.css", WEB_CSS, FILE_MODE),
        ("nginx/payments-web.conf", WEB_NGINX, FILE_MODE),
        ("PostDeploy.sh", WEB_POSTDEPLOY, EXEC_MODE),
    ],
}


def build(entries) -> bytes:
    """One zip archive, in memory (the packages are a few KiB)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, text, mode in entries:
            info = zipfile.ZipInfo(name, date_time=EPOCH)
            info.create_system = 3  # Unix, whatever OS runs this script
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"), compresslevel=9)
    return buf.getvalue()


def main(argv) -> int:
    check = argv[1:] == ["--check"]
    if argv[1:] and not check:
        print("usage: make-packages.py [--check]", file=sys.stderr)
        return 2
    differs = 0
    for file_name, entries in PACKAGES.items():
        data = build(entries)
        digest = hashlib.sha256(data).hexdigest()
        target = HERE / file_name
        if check:
            same = target.exists() and target.read_bytes() == data
            differs += not same
            print(f"{'ok     ' if same else 'DIFFERS'} {digest}  {file_name}")
            continue
        tmp = target.with_name(f".{file_name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        print(f"{digest}  {file_name} ({len(data)} bytes)")
    if differs:
        print("Committed packages differ from this zlib's output; see the module docstring.",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
