//! The state stamp, `/var/lib/pig/state.json`: which seed was last
//! applied, when, with which roles and resources, and which certificates
//! were issued (so a plan can tell a current certificate from a stale one
//! without issuing a new one).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where the stamp lives on a node.
pub const STAMP_PATH: &str = "/var/lib/pig/state.json";

/// A certificate pig issued.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCert {
    /// [`super::CertSpec::digest`] of what was asked for.
    pub spec: String,
    /// sha256 of the certificate file written.
    pub sha256: String,
}

/// The content of the stamp.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stamp {
    /// sha256 of the seed file applied.
    pub seed_digest: String,
    /// The seed's path.
    pub seed: String,
    /// The inventory host this node was applied as.
    pub host: String,
    /// Roles applied.
    pub roles: Vec<String>,
    /// When the last apply finished (RFC 3339).
    pub applied_at: String,
    /// Ids of every resource of the last apply.
    pub resources: Vec<String>,
    /// Certificates issued, by certificate path.
    pub certs: BTreeMap<PathBuf, IssuedCert>,
}

impl Stamp {
    /// Read the stamp at `path`; a missing file is an empty stamp.
    pub fn load(path: &Path) -> Result<Stamp> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("{}: not a pig state stamp", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Stamp::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Write the stamp atomically (mode 0644).
    pub fn save(&self, path: &Path) -> Result<()> {
        save_json(self, path)
    }
}

/// Write `value` as pretty JSON to `path` atomically (mode 0644), making
/// its directory first: the stamp and the first-boot result.
pub fn save_json(value: &impl Serialize, path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    pig_repo::atomic::write_file_mode(path, text.as_bytes(), 0o644)
        .with_context(|| format!("writing {}", path.display()))
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Lower-case hex SHA-256 of a file, read in a stream (bundles are large).
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).with_context(|| format!("reading {}", path.display()))?;
    Ok(hex::encode(hasher.finalize()))
}
