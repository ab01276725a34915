#!/usr/bin/env bash
# Installs what snesync needs on Debian 12, builds it, and runs the main job on the bundled
# sample export: ingest it into ./snesync.store and print the store's statistics.
#   ./setup.sh              everything
#   ./setup.sh --no-install skip apt-get (the packages are already there)
#   ./setup.sh --deps-only  only install the packages
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(build-essential cmake pkg-config libarchive-dev libxml2-dev libzstd-dev liblmdb-dev
          zlib1g-dev libcurl4-openssl-dev libmicrohttpd-dev libxxhash-dev libssl-dev libgnutls28-dev
          libxml2-utils python3 curl openssl lmdb-utils libpq-dev postgresql systemd scdoc
          debhelper lintian)

install=1 build=1
case "${1:-}" in
  --no-install) install=0 ;;
  --deps-only) build=0 ;;
  "") ;;
  *) echo "usage: $0 [--no-install|--deps-only]" >&2; exit 2 ;;
esac

if [ "$install" = 1 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "== installing Debian packages"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
fi
[ "$build" = 1 ] || exit 0

echo "== building (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

echo "== ingesting the bundled sample export into ./snesync.store"
./build/engine/snesync ingest --store snesync.store data-samples/sample-initial.tar.gz
./build/engine/snesync stats --store snesync.store
echo "== done: try ./build/engine/snesync changes --store snesync.store --limit 3"
