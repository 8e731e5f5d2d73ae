#!/usr/bin/env bash
# Screen a candidate case for data/linux-6.1 quickly, outside the pipeline, before writing its bundle.
# usage: scripts/screen-case.sh CASE_DIR [RUNS] [FRAGMENT]
#   CASE_DIR holds repro.c and fix.patch (a forward -p1 diff, buggy -> fixed); RUNS defaults to 3;
#   FRAGMENT (scripts/config arguments after `make tinyconfig`) defaults to data/linux-6.1/config.fragment.
# Environment: KBENCH_SCREEN_DIR (default /tmp/kbench-screen) holds the 6.1.192 tree (git, made once from
#   /usr/src/linux-source-6.1.tar.xz), ONE shared build directory (incremental between cases) and a lock.
# What it does: checks that fix.patch reverse-applies (`git apply -R --check`), builds the buggy tree (fix
#   reverse-applied) in the shared build directory and the fixed tree (as shipped, the same for every case: built once
#   per fragment, its kernel kept in KBENCH_SCREEN_DIR), runs the reproducer RUNS times on each under QEMU (TCG; 1 CPU,
#   512 MB, 60 s limit, like the pipeline's VM runner; as many runs at a time as CPUs) and titles each console with
#   `kbench report parse`. Results and consoles go to CASE_DIR/screen/. Concurrent screenings wait on the lock.
# A case is worth a bundle when every buggy run gives the bug's syzbot title and every fixed run shows no crash;
# the pipeline (`kbench kcache`, `kbench reproduce --patch`) is the validation that counts (data/linux-6.1/README.md).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CASE=$(readlink -f "$1"); RUNS=${2:-3}; FRAG=$(readlink -f "${3:-$here/data/linux-6.1/config.fragment}")
V=${KBENCH_SCREEN_DIR:-/tmp/kbench-screen}; SRC=$V/src; B=$V/build; OUT=$CASE/screen
[ -f "$CASE/repro.c" ] && [ -f "$CASE/fix.patch" ] || { echo "need $CASE/repro.c and $CASE/fix.patch" >&2; exit 2; }
mkdir -p "$V"; rm -rf "$OUT"; mkdir -p "$OUT"
exec 9>"$V/lock"; echo "waiting for the screening lock..."; flock 9
if [ ! -d "$SRC/.git" ]; then
  echo "extracting /usr/src/linux-source-6.1.tar.xz into $SRC (once)"
  rm -rf "$SRC" "$V/linux-source-6.1"
  timeout 1800 tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$V" && mv "$V/linux-source-6.1" "$SRC" || exit 2
  # the tarball's .gitignore ignores "/*": add with -f
  (cd "$SRC" && git init -q && git add -A -f && git -c user.name=screen -c user.email=screen@localhost commit -qm "6.1.192 as shipped" && git branch -m base) || exit 2
fi
cd "$SRC" || exit 2
git checkout -q -f base && git clean -qfdx
if ! git apply -R --check "$CASE/fix.patch" 2> "$OUT/apply.err"; then
  echo "RESULT: fix.patch does not reverse-apply cleanly on 6.1.192:"; cat "$OUT/apply.err"; exit 1
fi
if ! cmp -s "$FRAG" "$B/.fragment-used" 2>/dev/null; then
  echo "config fragment differs from the build directory's: new build directory (full build)"
  rm -rf "$B"; mkdir -p "$B"
  make -s -C "$SRC" O="$B" tinyconfig >/dev/null 2>&1
  # shellcheck disable=SC2046
  "$SRC/scripts/config" --file "$B/.config" $(cat "$FRAG")
  make -s -C "$SRC" O="$B" olddefconfig >/dev/null 2>&1; make -s -C "$SRC" O="$B" olddefconfig >/dev/null 2>&1
  cp "$FRAG" "$B/.fragment-used"
fi
cc="gcc"; command -v ccache >/dev/null && cc="ccache gcc"
build() { # $1 = buggy|fixed
  local s; s=$(date +%s)
  if ! timeout 3600 make -C "$SRC" O="$B" CC="$cc" -j"$(nproc)" bzImage > "$OUT/build-$1.log" 2>&1; then
    echo "RESULT: $1 build failed (log $OUT/build-$1.log):"; tail -20 "$OUT/build-$1.log"; return 1
  fi
  cp "$B/arch/x86/boot/bzImage" "$OUT/bzImage-$1"; echo "build $1: $(( $(date +%s) - s )) s"
}
if ! timeout 300 gcc -static -pthread -O1 -x c "$CASE/repro.c" -o "$OUT/repro" > "$OUT/gcc.log" 2>&1; then
  echo "RESULT: repro.c does not compile:"; tail -20 "$OUT/gcc.log"; exit 1
fi
# initramfs: busybox, the reproducer, an init that runs it for at most 60 s and reboots
d=$(mktemp -d); mkdir -p "$d/bin" "$d/proc" "$d/sys" "$d/dev" "$d/tmp"
cp /bin/busybox "$d/bin/busybox"; for a in sh mount echo cat reboot timeout mkdir readlink ln ip; do ln -s busybox "$d/bin/$a"; done
cp "$OUT/repro" "$d/repro"
printf '#!/bin/sh\nmount -t proc proc /proc\nmount -t sysfs sys /sys\nmount -t devtmpfs dev /dev 2>/dev/null\nmkdir -p /dev/char /dev/block\nfor l in /sys/dev/char/* /sys/dev/block/*; do n=$(readlink "$l"); n=${n##*/}; d=${l%%/*}; [ -e "/dev/$n" ] && ln -sf "../$n" "/dev/${d##*/}/${l##*/}"; done 2>/dev/null\nip link set lo up 2>/dev/null\ncd /tmp\n/bin/timeout 60 /repro\necho "SCREEN: repro-exit rc=$?"\nreboot -f\n' > "$d/init"
chmod +x "$d/init"; (cd "$d" && find . | cpio -o -H newc 2>/dev/null | gzip -9) > "$OUT/initrd.gz"; rm -rf "$d"
parse() { if [ -x "$here/kbench" ]; then "$here/kbench" report parse "$1" 2>/dev/null | head -1 | sed 's/^[^:]*: //'; fi; }
run() { # $1 = buggy|fixed, $2 = index
  local c="$OUT/console-$1-$2.txt" s; s=$(date +%s)
  timeout 300 qemu-system-x86_64 -accel tcg -m 512 -smp 1 -display none -monitor none -no-reboot \
    -serial "file:$c" -kernel "$OUT/bzImage-$1" -initrd "$OUT/initrd.gz" -append "console=ttyS0 oops=panic panic=-1" >/dev/null 2>&1
  echo "run $1 #$2: $(( $(date +%s) - s )) s; $(grep -o 'SCREEN: repro-exit rc=[0-9]*' "$c" | head -1 || echo 'no exit marker'); parser: $(parse "$c")"
}
# The fixed tree is the source as shipped, the same for every case: its kernel is built once per config fragment and kept.
key="$(sha256sum < "$FRAG" | cut -c1-16)-$(git rev-parse --short HEAD)"
if [ -f "$V/fixed-$key.bzImage" ]; then
  cp "$V/fixed-$key.bzImage" "$OUT/bzImage-fixed"; echo "build fixed: kept kernel $V/fixed-$key.bzImage"
else
  build fixed || exit 1
  cp "$OUT/bzImage-fixed" "$V/fixed-$key.bzImage"
fi
git apply -R "$CASE/fix.patch" || exit 1
build buggy || exit 1
git checkout -q -f base
# TCG runs one VM per host thread: as many runs at a time as there are CPUs, buggy and fixed alike.
jobs=$(nproc); n=0
for kind in buggy fixed; do
  for i in $(seq 1 "$RUNS"); do
    run "$kind" "$i" > "$OUT/run-$kind-$i.txt" & n=$((n + 1))
    if [ "$n" -ge "$jobs" ]; then wait -n; n=$((n - 1)); fi
  done
done
wait
for kind in buggy fixed; do for i in $(seq 1 "$RUNS"); do cat "$OUT/run-$kind-$i.txt"; done; done
rm -f "$OUT"/bzImage-* "$OUT/initrd.gz" "$OUT/repro" "$OUT"/run-*.txt
echo "consoles: $OUT/console-*.txt"
