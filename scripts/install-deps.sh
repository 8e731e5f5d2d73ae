#!/usr/bin/env bash
# Installs the Debian packages LiveKBench uses as tools (kernel build, QEMU, ctags, sandbox).
# Idempotent: does nothing when everything is present. Needs root (or sudo) for apt-get.
set -euo pipefail
pkgs=(git make gcc libc6-dev flex bison bc libelf-dev libssl-dev ccache cpio xz-utils
      qemu-system-x86 busybox-static linux-source-6.1 universal-ctags bubblewrap util-linux
      rabbitmq-server chromium socat)  # socat: the npm agents' loopback forwarder to the model proxy; rabbitmq-server: the Gym broker; chromium: the dashboard's browser tests (Playwright drives /usr/bin/chromium)
# Node.js + npm run the npm-cli agents (pi needs Node >= 20.6); install Debian's only when no node is on PATH.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v dotnet >/dev/null 2>&1; then
  echo "the .NET 10 SDK (dotnet) is required and is not on PATH; install dotnet-sdk-10.0 and rerun" >&2
  exit 2
fi
