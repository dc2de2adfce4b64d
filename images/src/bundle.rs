//! A pig bundle (`pigsty-pkg-….tgz`) as the only source of a node image:
//! unpacked once into the cache under its own digest, installed from by
//! mmdebstrap with no network, and the files that make the result a pig
//! node (the first-boot unit, DHCP networking, the seed, the repository
//! under `/www/pigsty`).

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::disk::Embed;
use crate::error::{Error, IoContext, Result};
use crate::rootfs::{CACHE_DIR, RootfsSource};
use crate::tool;

/// The bundle's top directory, the repository root.
pub const TOP_DIR: &str = "pigsty";
/// The repository's public key inside [`TOP_DIR`].
pub const PUBLIC_KEY: &str = "pigsty-repo-key.pub.asc";
/// The `Suite` pig-build writes into every bundle's `Release`.
pub const SUITE: &str = "pigsty";
/// Where the image carries the repository, as Pigsty lays it out.
pub const WWW_REPO: &str = "/www/pigsty";
/// Where the image carries the seed; pig-install's first boot reads it.
pub const SEED_PATH: &str = "/etc/pigsty/seed.yml";
/// pig-install's package and its first-boot unit.
pub const INSTALLER_PACKAGE: &str = "pig-install";
pub const FIRSTBOOT_UNIT: &str = "pig-install-firstboot.service";
/// The network configuration every image gets: DHCP on every Ethernet
/// interface, as cloud images do; the seed's node role may replace it.
pub const NETWORK_FILE: &str = "/etc/systemd/network/80-pig-dhcp.network";
const NETWORK: &str = "# Installed by pig-build image: DHCP on every Ethernet interface.\n\
[Match]\n\
Type=ether\n\
\n\
[Network]\n\
DHCP=yes\n";

/// A bundle unpacked in the cache.
#[derive(Debug, Clone)]
pub struct BundleRepo {
    /// Lower-case hex sha256 of the bundle file.
    pub digest: String,
    /// The unpacked `pigsty/` directory.
    pub repo: PathBuf,
    /// A copy of the repository key outside [`BundleRepo::repo`], which
    /// apt reads as `signed-by=` while the root is installed.
    pub keyring: PathBuf,
}

/// Lower-case hex sha256 of the file at `path`.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = fs::File::open(path).at(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).at(path)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Unpack `bundle` into [`CACHE_DIR`]`/bundle-<digest>`, or reuse an
/// earlier unpacking of the same bytes. The unpacked tree must hold the
/// repository key and a signed `InRelease`; the signatures themselves are
/// apt's to check while installing (every package through `signed-by=`).
pub fn unpack(bundle: &Path) -> Result<BundleRepo> {
    let digest = sha256_file(bundle)?;
    let dir = Path::new(CACHE_DIR).join(format!("bundle-{digest}"));
    if !dir.join(TOP_DIR).join("repo_complete").is_file() {
        let part = Path::new(CACHE_DIR).join(format!("bundle-{digest}.part"));
        let _ = fs::remove_dir_all(&part);
        fs::create_dir_all(&part).at(&part)?;
        let result = tool::run(
            Command::new("tar")
                .args(["--no-same-owner", "-xzf"])
                .arg(bundle)
                .arg("-C")
                .arg(&part),
            "unpacking the bundle",
        );
        if let Err(e) = result {
            let _ = fs::remove_dir_all(&part);
            return Err(e);
        }
        let _ = fs::remove_dir_all(&dir);
        fs::rename(&part, &dir).at(&dir)?;
    }
    let repo = dir.join(TOP_DIR);
    for name in [PUBLIC_KEY, "InRelease", "MANIFEST.json"] {
        if !repo.join(name).is_file() {
            return Err(Error::invalid(
                bundle.display(),
                format!("{TOP_DIR}/{name}"),
                "missing: not a pig bundle of Debian packages",
            ));
        }
    }
    let keyring = dir.join("signed-by.asc");
    fs::copy(repo.join(PUBLIC_KEY), &keyring).at(&keyring)?;
    Ok(BundleRepo {
        digest,
        repo,
        keyring,
    })
}

impl BundleRepo {
    /// The bundle's repository as the only, offline source of a rootfs,
    /// with the customize steps that make it a pig node: pig-install's
    /// own first-boot unit (printed by the installed pig-install, so unit
    /// and binary match) and systemd-networkd enabled, and nothing of the
    /// build left behind (the build's apt source and key copy).
    pub fn rootfs_source(&self) -> RootfsSource {
        let keyring = self.keyring.display().to_string();
        let key_dir = self
            .keyring
            .parent()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        RootfsSource {
            suite: SUITE.to_string(),
            lines: vec![format!(
                "deb [signed-by={keyring}] file://{} ./",
                self.repo.display()
            )],
            keyrings: vec![self.keyring.clone()],
            offline: true,
            customize: vec![
                format!(
                    "chroot \"$1\" /usr/bin/{INSTALLER_PACKAGE} firstboot --print-unit \
                     > \"$1/usr/lib/systemd/system/{FIRSTBOOT_UNIT}\""
                ),
                format!("chroot \"$1\" systemctl enable {FIRSTBOOT_UNIT} systemd-networkd.service"),
                // pig-install's node role writes the node's own source.
                "rm -f \"$1/etc/apt/sources.list\"".to_string(),
                // Only directories that the automount hook has already
                // unmounted and emptied: never delete through a mount.
                format!(
                    "rm -f \"$1{keyring}\" && rmdir \"$1{}\" \"$1{key_dir}\" \"$1{CACHE_DIR}\"",
                    self.repo.display()
                ),
            ],
        }
    }
}

/// The image-specific files of a node image: DHCP networking, the seed
/// (mode 0600: it holds the CA key and every password) when given, and a
/// copy of the bundle's repository at [`WWW_REPO`] when given.
pub fn node_embeds(seed: Option<&[u8]>, repo: Option<&Path>) -> Vec<Embed> {
    let mut embeds = vec![Embed::file(NETWORK_FILE, NETWORK, 0o644)];
    if let Some(seed) = seed {
        embeds.push(Embed::file(SEED_PATH, seed.to_vec(), 0o600));
    }
    if let Some(repo) = repo {
        embeds.push(Embed::tree(WWW_REPO, repo));
    }
    embeds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_is_offline_signed_and_cleans_up() {
        let b = BundleRepo {
            digest: "d".into(),
            repo: PathBuf::from("/c/bundle-d/pigsty"),
            keyring: PathBuf::from("/c/bundle-d/signed-by.asc"),
        };
        let s = b.rootfs_source();
        assert!(s.offline);
        assert_eq!(s.suite, "pigsty");
        assert_eq!(
            s.lines,
            ["deb [signed-by=/c/bundle-d/signed-by.asc] file:///c/bundle-d/pigsty ./"]
        );
        assert!(s.customize[0].contains("firstboot --print-unit"));
        assert!(s.customize.iter().all(|h| !h.contains("rm -r")));
    }

    #[test]
    fn node_embeds_hold_seed_and_repo_only_when_given() {
        let slim = node_embeds(None, None);
        assert_eq!(slim.len(), 1);
        let full = node_embeds(Some(b"all: {}\n"), Some(Path::new("/r")));
        let seed = full.iter().find(|e| e.path() == SEED_PATH).unwrap();
        assert!(matches!(seed, Embed::File { mode: 0o600, .. }));
        assert!(full.iter().any(|e| e.path() == WWW_REPO));
    }
}
