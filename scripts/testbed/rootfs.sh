#!/bin/sh
# Make (or reuse) the Debian 12 root filesystem tarball the nspawn test bed
# boots. Prints the tarball's path on stdout.
#
# The source is a parameter: PIG_TESTBED_MIRROR (an apt URI) or, by default,
# the first bookworm URI of the host's own /etc/apt/sources.list.d (no host
# name is written here). Tarballs are cached in /var/tmp/pig-testbed/ keyed
# by suite, source and package list, so reruns take no time.
set -eu

suite=${PIG_TESTBED_SUITE:-bookworm}
cache=${PIG_TESTBED_CACHE:-/var/tmp/pig-testbed}
packages="systemd,systemd-sysv,dbus,apt,iproute2,procps,tzdata,openssh-server,sudo,chrony,haproxy,prometheus-node-exporter,etcd-server,etcd-client${PIG_TESTBED_PACKAGES:+,$PIG_TESTBED_PACKAGES}"

mirror=${PIG_TESTBED_MIRROR:-}
if [ -z "$mirror" ]; then
    # deb822 .sources first (URIs: with Suites: naming the suite), then
    # one-line .list entries.
    mirror=$(awk -v suite="$suite" '
        /^[[:space:]]*$/ { if (uri != "" && hit) { print uri; exit } uri = ""; hit = 0; next }
        tolower($1) == "uris:" { uri = $2 }
        tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) hit = 1 }
        END { if (uri != "" && hit) print uri }
    ' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
fi
if [ -z "$mirror" ]; then
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk -v suite="$suite" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i == suite) { print ($2 ~ /^\[/ ? $3 : $2); exit } }' |
        head -n1)
fi
[ -n "$mirror" ] || { echo "rootfs.sh: no apt source for $suite on this host; set PIG_TESTBED_MIRROR" >&2; exit 1; }

key=$(printf '%s\n%s\n%s\n' "$suite" "$mirror" "$packages" | sha256sum | cut -c1-16)
tarball="$cache/rootfs-$suite-$key.tar"
if [ -s "$tarball" ]; then
    echo "$tarball"
    exit 0
fi
mkdir -p "$cache"
tmp="$cache/.part-$$-$key.tar"
trap 'rm -f "$tmp"' EXIT
# Units that would fight the test over the console or the network stay
# masked; the services pig-install manages are left as Debian ships them.
mmdebstrap --quiet --format=tar --variant=minbase --include="$packages" \
    --customize-hook='chroot "$1" systemctl mask systemd-networkd-wait-online.service getty@tty1.service console-getty.service >/dev/null 2>&1 || true' \
    --customize-hook='echo "pig-testbed" > "$1/etc/hostname"' \
    "$suite" "$tmp" "$mirror" >&2
mv "$tmp" "$tarball"
trap - EXIT
echo "$tarball"
