#!/usr/bin/env bash
# Benchmark: the whole real-bug dataset (data/linux-6.1) through the pipeline on a fresh workspace, with the baseline
# agents developer-oracle and empty. Writes bench/results/linux-6.1-dataset.md (time, leaderboard, load average).
# usage: bench/linux-6.1-dataset.sh [WORKSPACE]   (default: a new directory under ${TMPDIR:-/tmp}; ccache is shared)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ws="${1:-$(mktemp -d -t kbench-dataset.XXXXXX)/ws}"
log="$ws.log"
mkdir -p "$(dirname "$ws")"
start=$(date +%s)
KBENCH_WORKSPACE="$ws" ./kbench run --bugs-from data/linux-6.1 --agents developer-oracle,empty 2>&1 | tee "$log"
elapsed=$(( $(date +%s) - start ))
# The VM runner probes KVM with a short boot per run and falls back to TCG; a probe that booted left a console.
if find "$ws/work/runs" -name kvm-probe.console.txt -size +0 2>/dev/null | grep -q .; then
  accel='with KVM (the KVM probe booted)'
else
  accel='under TCG (no working KVM: no KVM probe boot printed anything)'
fi
{
  echo "# data/linux-6.1 through the pipeline (developer-oracle, empty)"
  echo
  echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; QEMU $accel; 1-min load average at the end: $(cut -d' ' -f1 /proc/loadavg)."
  echo "Command: \`bench/linux-6.1-dataset.sh\` (fresh workspace \`$ws\`; ccache as configured). Elapsed: **${elapsed} s**."
  echo
  echo '```'
  grep -v '^\[' "$log" | sed -n '/^import /,$p'
  echo '```'
} > bench/results/linux-6.1-dataset.md
echo "wrote bench/results/linux-6.1-dataset.md (${elapsed} s)"
