#!/bin/sh
# Make (or reuse) the root filesystem the nspawn test bed boots (as the
# lower directory of each node's overlay), from a pig bundle alone, and
# print its path on stdout.
#
#   scripts/testbed/rootfs.sh WWW
#
# WWW is an unpacked pig bundle (the directory holding pigsty/). mmdebstrap
# installs Debian's minbase set plus $PIG_TESTBED_PACKAGES (default: what
# the NODE, ETCD and PGSQL roles run) with that repository as its only
# source, signed-by the bundle's key, in a network namespace with no
# route: what is not in the bundle cannot be installed. The repository is
# also copied to /www/pigsty in the root, as an image carries it, so
# pig-install finds its local repository there.
#
# Root directories are cached in $PIG_TESTBED_CACHE (/var/tmp/pig-testbed/)
# keyed by the repository's InRelease and the package list; reruns take no
# time. One is built under a temporary name and renamed when complete.
set -eu

www=${1:?usage: rootfs.sh WWW (an unpacked pig bundle)}
www=$(cd "$www" && pwd)
repo="$www/pigsty"
cache=${PIG_TESTBED_CACHE:-/var/tmp/pig-testbed}
packages=${PIG_TESTBED_PACKAGES:-systemd,systemd-sysv,dbus,apt,iproute2,procps,tzdata,openssh-server,sudo,chrony,haproxy,prometheus-node-exporter,etcd-server,etcd-client,postgresql-15,postgresql-client-15,patroni,python3-etcd,python3-psycopg2,pgbouncer,pgbackrest,prometheus-postgres-exporter}

for f in InRelease pigsty-repo-key.pub.asc repo_complete; do
    [ -e "$repo/$f" ] || { echo "rootfs.sh: $repo/$f is missing: not an unpacked pig bundle" >&2; exit 1; }
done
# mmdebstrap finds the Priority: required set by the repository's suite.
suite=$(sed -n 's/^Suite: *//p' "$repo/InRelease" | head -n1)
[ -n "$suite" ] || { echo "rootfs.sh: $repo/InRelease has no Suite" >&2; exit 1; }

key=$( (cat "$repo/InRelease"; echo "$packages") | sha256sum | cut -c1-16)
root="$cache/rootfs-bundle-$key"
if [ -d "$root" ]; then
    echo "$root"
    exit 0
fi
mkdir -p "$cache"
tmp="$cache/.part-$$-$key"
# apt wants the key readable by _apt and named .asc: a copy, which the
# setup hook also puts at the same path in the root for its own apt.
keyring="$cache/keyring-$key.asc"
cp "$repo/pigsty-repo-key.pub.asc" "$keyring"
chmod 644 "$keyring"
trap 'rm -rf "$tmp" "$keyring"' EXIT
# Units that would fight the test over the console or the network stay
# masked; the services pig-install manages are left as Debian ships them.
# The build-time source line names a host path: it goes, and pig-install
# writes the node's own source for /www/pigsty.
TMPDIR=$cache unshare --net --mount --propagation=private -- \
    mmdebstrap --quiet --mode=root --format=directory --variant=minbase --include="$packages" \
    --setup-hook="mkdir -p \"\$1$cache\" && cp \"$keyring\" \"\$1$keyring\"" \
    --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
    --aptopt='Acquire::AllowInsecureRepositories "false"' \
    --aptopt='Acquire::Languages "none"' \
    --dpkgopt=force-unsafe-io \
    --customize-hook='chroot "$1" systemctl mask systemd-networkd-wait-online.service getty@tty1.service console-getty.service >/dev/null 2>&1 || true' \
    --customize-hook='echo "pig-testbed" > "$1/etc/hostname"' \
    --customize-hook="rm -f \"\$1$keyring\" && { find \"\$1$cache\" \"\$1$www\" -depth -type d -empty -delete 2>/dev/null || true; } && rm -f \"\$1/etc/apt/sources.list\" && mkdir -p \"\$1/www\" && cp -a \"$repo\" \"\$1/www/pigsty\"" \
    "$suite" "$tmp" "deb [signed-by=$keyring] file://$repo ./" >&2
# Another test may have won the race; either copy is good.
mv -T "$tmp" "$root" 2>/dev/null || rm -rf "$tmp"
rm -f "$keyring"
trap - EXIT
echo "$root"
