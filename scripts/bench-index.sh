#!/usr/bin/env bash
# Benchmark `pig-build repo index` against the peer tools on the same input,
# in the same run, and print the ratios.
#
#   scripts/bench-index.sh [DEB_DIR] [RPM_COUNT]
#
# DEB_DIR defaults to a directory of real .deb files downloaded from the
# host's configured Debian mirror (apt-get download of ~300 packages, kept in
# /var/tmp/pig-bench-debs). RPM_COUNT small RPMs are made with rpmbuild.
# Peers: dpkg-scanpackages and apt-ftparchive (APT), createrepo_c (RPM).
set -euo pipefail
cd "$(dirname "$0")/.."

deb_dir=${1:-/var/tmp/pig-bench-debs}
rpm_count=${2:-300}
work=$(mktemp -d /var/tmp/pig-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

cargo build --release -q -p pig-build
pig=$PWD/target/release/pig-build
[ -n "${CARGO_TARGET_DIR:-}" ] && pig=$CARGO_TARGET_DIR/release/pig-build

if [ ! -d "$deb_dir" ] || ! compgen -G "$deb_dir/*.deb" >/dev/null; then
  mkdir -p "$deb_dir"
  echo "bench: downloading sample .deb files into $deb_dir"
  # A realistic mix: the PostgreSQL stack and its dependencies.
  pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
           --no-breaks --no-replaces --no-enhances postgresql-15 patroni pgbouncer \
           pgbackrest haproxy etcd-server nginx prometheus 2>/dev/null |
         grep -E '^[a-z0-9]' | sort -u | head -400)
  (cd "$deb_dir" && apt-get download -q $pkgs >/dev/null 2>&1 || true)
fi
ndeb=$(find "$deb_dir" -name '*.deb' | wc -l)
mb=$(du -sm "$deb_dir" | cut -f1)

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }

echo "== APT: $ndeb .deb files, $mb MB"
cp -al "$deb_dir" "$work/deb"
t=$(now); (cd "$work/deb" && dpkg-scanpackages -m . /dev/null >Packages 2>/dev/null); t_scan=$(elapsed "$t")
t=$(now); (cd "$work/deb" && apt-ftparchive packages . >Packages); t_ftp=$(elapsed "$t")
rm -f "$work/deb/Packages"
t=$(now); "$pig" repo index "$work/deb" >/dev/null; t_pig=$(elapsed "$t")
t=$(now); "$pig" repo index "$work/deb" >/dev/null; t_pig2=$(elapsed "$t")
printf '%-34s %8.2f s\n' "dpkg-scanpackages" "$t_scan" "apt-ftparchive packages" "$t_ftp" \
  "pig-build repo index (cold)" "$t_pig" "pig-build repo index (unchanged)" "$t_pig2"
echo "ratio dpkg-scanpackages / pig (cold):  $(ratio "$t_scan" "$t_pig")x"
echo "ratio apt-ftparchive / pig (cold):     $(ratio "$t_ftp" "$t_pig")x"
echo "ratio apt-ftparchive / pig (re-index): $(ratio "$t_ftp" "$t_pig2")x"

echo "== RPM: $rpm_count packages made by rpmbuild"
mkdir -p "$work/rpmbuild/SPECS" "$work/rpm"
for i in $(seq 1 "$rpm_count"); do
  cat >"$work/rpmbuild/SPECS/p$i.spec" <<SPEC
Name: bench$i
Version: 1.$i
Release: 1
Summary: benchmark package $i
License: MIT
BuildArch: noarch
Requires: bench$(( (i % rpm_count) + 1 )) >= 1.0
%description
Package $i of the pig index benchmark.
%install
mkdir -p %{buildroot}/usr/share/bench$i
head -c 65536 /dev/urandom > %{buildroot}/usr/share/bench$i/data
%files
/usr/share/bench$i
SPEC
done
(cd "$work/rpmbuild/SPECS" && for s in *.spec; do
   rpmbuild -bb --quiet --define "_topdir $work/rpmbuild" --define "_rpmdir $work/rpm" "$s" >/dev/null 2>&1
 done)
cp -al "$work/rpm" "$work/rpm-c"
t=$(now); createrepo_c -q "$work/rpm-c"; t_cr=$(elapsed "$t")
t=$(now); createrepo_c -q --update "$work/rpm-c"; t_cr2=$(elapsed "$t")
t=$(now); "$pig" repo index "$work/rpm" >/dev/null; t_pigr=$(elapsed "$t")
t=$(now); "$pig" repo index "$work/rpm" >/dev/null; t_pigr2=$(elapsed "$t")
printf '%-34s %8.2f s\n' "createrepo_c" "$t_cr" "createrepo_c --update (unchanged)" "$t_cr2" \
  "pig-build repo index (cold)" "$t_pigr" "pig-build repo index (unchanged)" "$t_pigr2"
echo "ratio createrepo_c / pig (cold):       $(ratio "$t_cr" "$t_pigr")x"
echo "ratio createrepo_c --update / pig:     $(ratio "$t_cr2" "$t_pigr2")x"
