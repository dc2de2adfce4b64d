#!/usr/bin/env bash
# Benchmark bundle packing: pig's deterministic parallel packer against
# `tar -czf` (single-threaded gzip) and `tar | pigz`, on the same directory in
# the same run, at the same compression level (6), and print sizes and ratios.
#
#   scripts/bench-pack.sh [DIR]
#
# Any directory works (try a text-heavy one, e.g. /usr/share/perl, to see the
# ratio cost of independent gzip members). DIR defaults to a directory of real .deb files downloaded from the host's
# configured Debian mirror into /var/tmp/pig-bench-pack (PostgreSQL 15, its
# extensions and the HA stack: a realistic bundle payload). Needs pigz
# (`apt-get install -y pigz`); without it that row is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

default=/var/tmp/pig-bench-pack
dir=${1:-$default}
work=$(mktemp -d /var/tmp/pig-bench-pack-out.XXXXXX)
trap 'rm -rf "$work"' EXIT

# The dev profile builds dependencies (flate2/zlib-rs, rayon) with
# opt-level 2, which is where the time goes; PROFILE=release for a full build.
profile=${PROFILE:-dev}
cargo build -q -p pig-build --example pack --profile "$profile"
target=${CARGO_TARGET_DIR:-$PWD/target}
[ "$profile" = dev ] && sub=debug || sub=$profile
pack=$target/$sub/examples/pack

if [ "$dir" = "$default" ] && ! compgen -G "$dir/*.deb" >/dev/null; then
  mkdir -p "$dir"
  echo "bench: downloading sample .deb files into $dir"
  pkgs="$(apt-cache pkgnames postgresql-15-) postgresql-15 postgresql-client-15 patroni pgbouncer
        pgbackrest haproxy etcd-server etcd-client prometheus prometheus-node-exporter nginx redis-server"
  (cd "$dir" && apt-get download -q $pkgs >/dev/null 2>&1 || true)
fi
nfiles=$(find "$dir" -type f | wc -l)
bytes=$(du -sb "$dir" | cut -f1)

size() { stat -c %s "$1"; }
# Wall and CPU seconds of a shell command: "<wall> <user+sys>". CPU time is
# the steadier figure on a loaded host; wall time shows the parallelism.
timed() { /usr/bin/time -f "%e %U %S" -o "$work/time" sh -c "$1" >/dev/null
          awk '{ printf "%s %.2f", $1, $2 + $3 }' "$work/time"; }

export SOURCE_DATE_EPOCH=1700000000
parent=$(dirname "$dir")
base=$(basename "$dir")

r_pig=$(timed "'$pack' '$dir' '$work/pig.tgz' pigsty")
r_tar=$(timed "tar -C '$parent' --sort=name -czf '$work/tar.tgz' '$base'")
if command -v pigz >/dev/null; then
  r_pigz=$(timed "tar -C '$parent' --sort=name -cf - '$base' | pigz -6 >'$work/pigz.tgz'")
fi
# Determinism: a second pig pack must be byte-identical.
"$pack" "$dir" "$work/pig2.tgz" pigsty >/dev/null
cmp -s "$work/pig.tgz" "$work/pig2.tgz" && same=yes || same=NO
gzip -t "$work/pig.tgz"

echo "== pack: $nfiles files, $bytes bytes, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg), level 6"
printf '%-10s %8s %8s %14s %8s %10s\n' tool wall_s cpu_s bytes_out out/in wall/tar
t_tar=${r_tar%% *}
row() {
  set -- "$1" $2 "$3"
  awk -v n="$1" -v t="$2" -v c="$3" -v o="$4" -v i="$bytes" -v tt="$t_tar" \
    'BEGIN { printf "%-10s %8.2f %8.2f %14d %8.4f %10.2f\n", n, t, c, o, o / i, t / tt }'
}
row pig "$r_pig" "$(size "$work/pig.tgz")"
row tar-czf "$r_tar" "$(size "$work/tar.tgz")"
[ -n "${r_pigz:-}" ] && row tar+pigz "$r_pigz" "$(size "$work/pigz.tgz")"
echo "pig pack byte-identical on repeat: $same; gzip -t: ok"
