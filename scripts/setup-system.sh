#!/usr/bin/env bash
# System packages the test suite uses, from Debian: xmlsec1 (an independent XML-DSig signer for
# fixtures), Chromium (browser tests, driven by playwright-core; never downloaded by a tool) and
# SimpleSAMLphp with PHP's CLI and DOM extension (a third-party IdP for the end-to-end test, run
# under PHP's built-in web server; test/e2e/simplesamlphp.test.ts).
set -euo pipefail
need=()
command -v xmlsec1 >/dev/null 2>&1 || need+=(xmlsec1)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -f /usr/share/simplesamlphp/www/module.php ] || need+=(simplesamlphp)
if ! command -v php >/dev/null 2>&1; then
  need+=(php-cli php-xml)
else
  # SimpleSAMLphp needs DOM (php-xml); Debian's simplesamlphp does not depend on it.
  php -r 'exit(extension_loaded("dom") ? 0 : 1);' >/dev/null 2>&1 || need+=(php-xml)
fi
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "Missing system packages: ${need[*]}. Install them with: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
echo "Installing ${need[*]} from Debian..."
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
