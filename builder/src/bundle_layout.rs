//! The layout of a bundle, `pigsty-pkg-<version>.<os>.<arch>.tgz`: the
//! names of the files under its top-level `pigsty/` directory, the
//! `MANIFEST.json` model and the `SHA256SUMS` writer and checker.
//!
//! `bundle` writes this layout and `verify` checks it; both take every name
//! from here so the two cannot drift.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::recipe::PackageKind;

/// The directory every entry of the tarball lives under, the repository
/// root that Pigsty extracts under `/www`.
pub const TOP_DIR: &str = "pigsty";
/// The bundle's description, [`Manifest`] as pretty JSON.
pub const MANIFEST: &str = "MANIFEST.json";
/// `sha256sum -c`-compatible hashes of every other file (see
/// [`write_sha256sums`]).
pub const SHA256SUMS: &str = "SHA256SUMS";
/// Empty marker written last: Pigsty's sign that the repository is whole.
pub const REPO_COMPLETE: &str = "repo_complete";
/// The armored public key that signs the repository.
pub const PUBLIC_KEY: &str = "pigsty-repo-key.pub.asc";
/// APT flat-repository index files.
pub const PACKAGES: &str = "Packages";
pub const PACKAGES_GZ: &str = "Packages.gz";
pub const RELEASE: &str = "Release";
pub const INRELEASE: &str = "InRelease";
pub const RELEASE_GPG: &str = "Release.gpg";
/// RPM repository metadata directory and the detached signature of its
/// `repomd.xml`.
pub const REPODATA: &str = "repodata";
pub const REPOMD: &str = "repodata/repomd.xml";
pub const REPOMD_ASC: &str = "repodata/repomd.xml.asc";
/// The [`Manifest::format`] this version of pig writes and reads.
pub const MANIFEST_FORMAT: u32 = 1;

/// Files every bundle holds whatever its kind, besides the packages.
pub const COMMON_FILES: [&str; 4] = [MANIFEST, SHA256SUMS, REPO_COMPLETE, PUBLIC_KEY];
/// The APT index files a `deb` bundle holds.
pub const DEB_INDEX_FILES: [&str; 5] = [PACKAGES, PACKAGES_GZ, RELEASE, INRELEASE, RELEASE_GPG];
/// The signed index files an `rpm` bundle holds; `repomd.xml` names the
/// rest of `repodata/` with their checksums.
pub const RPM_INDEX_FILES: [&str; 2] = [REPOMD, REPOMD_ASC];

/// `pigsty-pkg-<version>.<os>.<arch>.tgz`, the name Pigsty's tooling expects.
pub fn bundle_file_name(version: &str, os: &str, arch: &str) -> String {
    format!("pigsty-pkg-{version}.{os}.{arch}.tgz")
}

/// Which package format a bundle's repository serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BundleKind {
    /// A flat APT repository: `*.deb`, `Packages`, `Release`, `InRelease`.
    Deb,
    /// A yum/dnf repository: `*.rpm` and `repodata/`.
    Rpm,
}

impl BundleKind {
    /// The package format of a recipe's bundle.
    pub fn of(kind: PackageKind) -> BundleKind {
        match kind {
            PackageKind::Deb => BundleKind::Deb,
            PackageKind::Rpm => BundleKind::Rpm,
        }
    }

    /// The file name extension of the bundle's packages.
    pub fn package_extension(self) -> &'static str {
        match self {
            BundleKind::Deb => ".deb",
            BundleKind::Rpm => ".rpm",
        }
    }

    /// The index files besides [`COMMON_FILES`] a bundle of this kind holds.
    pub fn index_files(self) -> &'static [&'static str] {
        match self {
            BundleKind::Deb => &DEB_INDEX_FILES,
            BundleKind::Rpm => &RPM_INDEX_FILES,
        }
    }
}

/// `pigsty/MANIFEST.json`: what the bundle is and what it must contain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Layout version, [`MANIFEST_FORMAT`].
    pub format: u32,
    /// Bundle name, usually the recipe's.
    pub name: String,
    pub version: String,
    /// Target OS as the recipe names it (`d12`, `el9`, …).
    pub os: String,
    /// Target architecture (`amd64`, `x86_64`, …).
    pub arch: String,
    pub kind: BundleKind,
    /// The date every file and signature in the bundle carries.
    pub source_date_epoch: i64,
    /// Fingerprint of the key that signs the repository, 40 upper-case hex
    /// digits.
    pub key_fingerprint: String,
    /// File name of the public key inside `pigsty/` ([`PUBLIC_KEY`]).
    pub public_key: String,
    /// Module name → the package names the recipe wants for it.
    pub modules: BTreeMap<String, Vec<String>>,
    /// Every package file in the repository.
    pub packages: Vec<ManifestPackage>,
    /// Packages the recipe wanted that no reachable upstream had.
    pub missing: Vec<String>,
    /// Version of pig-build that made the bundle.
    pub pig_version: String,
}

/// One package file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestPackage {
    pub name: String,
    pub version: String,
    pub arch: String,
    /// Path relative to `pigsty/`.
    pub filename: String,
    pub size: u64,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
}

impl Manifest {
    /// Reads and checks a `MANIFEST.json`; errors name the file and, for
    /// JSON errors, the line and column.
    pub fn load(path: &Path) -> Result<Manifest> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let manifest: Manifest =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        if manifest.format != MANIFEST_FORMAT {
            bail!(
                "{}: format {} is not supported (this pig reads format {MANIFEST_FORMAT})",
                path.display(),
                manifest.format
            );
        }
        Ok(manifest)
    }

    /// Writes the manifest as pretty JSON with a final newline, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self).context("serialising the manifest")?;
        text.push('\n');
        pig_repo::atomic::write_file(path, text.as_bytes())?;
        Ok(())
    }
}

/// Size and lower-case hex SHA-256 of the file at `path`, read in a stream.
pub fn sha256_file(path: &Path) -> io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// The files `SHA256SUMS` covers: every regular file under `dir` but
/// `SHA256SUMS` and `repo_complete` at its top, as `/`-separated relative
/// paths sorted bytewise. Symlinks and special files are refused: a bundle
/// holds plain files only, so that every byte is covered.
fn covered_files(dir: &Path) -> Result<Vec<String>> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).min_depth(1) {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let rel = entry
            .path()
            .strip_prefix(dir)
            .with_context(|| format!("{} is outside {}", entry.path().display(), dir.display()))?;
        let Some(rel) = rel.to_str() else {
            bail!("{}: file name is not UTF-8", entry.path().display());
        };
        let kind = entry.file_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            bail!(
                "{}: not a regular file (a bundle holds only files and directories)",
                entry.path().display()
            );
        }
        if rel == SHA256SUMS || rel == REPO_COMPLETE {
            continue;
        }
        if rel.contains(['\n', '\\']) {
            bail!(
                "{}: a newline or backslash in a file name cannot be listed in {SHA256SUMS}",
                entry.path().display()
            );
        }
        files.push(rel.to_string());
    }
    files.sort();
    Ok(files)
}

/// Writes `<dir>/SHA256SUMS` (atomically) for every file under `dir` but
/// itself and `repo_complete`, one `<sha256>  <path>` line each, sorted by
/// path, the format `sha256sum -c` reads; returns the text written.
/// Files are hashed in parallel.
pub fn write_sha256sums(dir: &Path) -> Result<String> {
    let files = covered_files(dir)?;
    let hashes: Vec<String> = files
        .par_iter()
        .map(|rel| {
            let path = dir.join(rel);
            sha256_file(&path)
                .map(|(_, hash)| hash)
                .with_context(|| format!("hashing {}", path.display()))
        })
        .collect::<Result<_>>()?;
    let text: String = files
        .iter()
        .zip(&hashes)
        .map(|(rel, hash)| format!("{hash}  {rel}\n"))
        .collect();
    pig_repo::atomic::write_file(&dir.join(SHA256SUMS), text.as_bytes())?;
    Ok(text)
}

/// One line of a `SHA256SUMS` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sha256Line {
    /// Lower-case hex digest.
    pub sha256: String,
    /// Path relative to the directory of the `SHA256SUMS` file.
    pub path: String,
    /// 1-based line number.
    pub line: usize,
}

/// Parses `SHA256SUMS` text as `sha256sum` writes it (`<hex>  <path>`, or
/// `<hex> *<path>` in binary mode); `input` names the file in errors.
/// Escaped names (lines starting with `\`), absolute paths, `..` and
/// duplicates are refused.
pub fn parse_sha256sums(text: &str, input: &str) -> Result<Vec<Sha256Line>> {
    let mut out: Vec<Sha256Line> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.is_empty() {
            continue;
        }
        if raw.starts_with('\\') {
            bail!("{input}:{line}: escaped file names are not supported");
        }
        let Some((hash, rest)) = raw.split_once(' ') else {
            bail!("{input}:{line}: expected `<sha256>  <path>`, found {raw:?}");
        };
        let path = rest
            .strip_prefix(' ')
            .or_else(|| rest.strip_prefix('*'))
            .ok_or_else(|| anyhow::anyhow!("{input}:{line}: expected two spaces after the hash"))?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!("{input}:{line}: {hash:?} is not a SHA-256 hex digest");
        }
        if path.is_empty()
            || path.starts_with('/')
            || path
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
        {
            bail!("{input}:{line}: {path:?} is not a plain relative path");
        }
        if !seen.insert(path.to_string()) {
            bail!("{input}:{line}: {path} is listed twice");
        }
        out.push(Sha256Line {
            sha256: hash.to_ascii_lowercase(),
            path: path.to_string(),
            line,
        });
    }
    Ok(out)
}

/// Checks `<dir>/SHA256SUMS`: every listed file exists with that hash and
/// every file it should cover is listed. Returns the number of files
/// checked; the error lists every problem, each naming its file.
pub fn check_sha256sums(dir: &Path) -> Result<usize> {
    let sums_path = dir.join(SHA256SUMS);
    let text = std::fs::read_to_string(&sums_path)
        .with_context(|| format!("reading {}", sums_path.display()))?;
    let input = format!("{TOP_DIR}/{SHA256SUMS}");
    let lines = parse_sha256sums(&text, &input)?;
    let mut problems: Vec<String> = lines
        .par_iter()
        .filter_map(|l| {
            let path: PathBuf = dir.join(&l.path);
            match sha256_file(&path) {
                Ok((_, actual)) if actual == l.sha256 => None,
                Ok((_, actual)) => Some(format!(
                    "{TOP_DIR}/{}: SHA-256 mismatch with {input} line {}: expected {}, got {actual}",
                    l.path, l.line, l.sha256
                )),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Some(format!(
                    "{TOP_DIR}/{}: listed in {input} line {} but missing",
                    l.path, l.line
                )),
                Err(e) => Some(format!("{TOP_DIR}/{}: {e}", l.path)),
            }
        })
        .collect();
    let listed: std::collections::HashSet<&str> = lines.iter().map(|l| l.path.as_str()).collect();
    for rel in covered_files(dir)? {
        if !listed.contains(rel.as_str()) {
            problems.push(format!("{TOP_DIR}/{rel}: not listed in {input}"));
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(lines.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT,
            name: "pigsty".into(),
            version: "3.0.0".into(),
            os: "d12".into(),
            arch: "amd64".into(),
            kind: BundleKind::Deb,
            source_date_epoch: 1_700_000_000,
            key_fingerprint: "0123456789ABCDEF0123456789ABCDEF01234567".into(),
            public_key: PUBLIC_KEY.into(),
            modules: BTreeMap::from([("node".into(), vec!["hello".into()])]),
            packages: vec![ManifestPackage {
                name: "hello".into(),
                version: "2.10-3".into(),
                arch: "amd64".into(),
                filename: "hello_2.10-3_amd64.deb".into(),
                size: 53_000,
                sha256: "ab".repeat(32),
            }],
            missing: vec!["nothere".into()],
            pig_version: "0.1.0".into(),
        }
    }

    #[test]
    fn manifest_round_trips_and_refuses_other_formats_and_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST);
        let m = manifest();
        m.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"kind\": \"deb\""), "{text}");
        assert_eq!(Manifest::load(&path).unwrap(), m);

        std::fs::write(&path, text.replace("\"format\": 1", "\"format\": 2")).unwrap();
        let e = format!("{:#}", Manifest::load(&path).unwrap_err());
        assert!(e.contains("format 2 is not supported"), "{e}");

        std::fs::write(&path, text.replace("\"format\": 1", "\"colour\": 1")).unwrap();
        let e = format!("{:#}", Manifest::load(&path).unwrap_err());
        assert!(
            e.contains("unknown field `colour`") && e.contains("line"),
            "{e}"
        );
    }

    #[test]
    fn sha256sums_skips_itself_and_the_marker_and_finds_changes() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("repodata")).unwrap();
        std::fs::write(d.join("b.deb"), b"bee").unwrap();
        std::fs::write(d.join("a.deb"), b"a").unwrap();
        std::fs::write(d.join("repodata/x"), b"").unwrap();
        std::fs::write(d.join(REPO_COMPLETE), b"").unwrap();
        let text = write_sha256sums(d).unwrap();
        let paths: Vec<&str> = text.lines().map(|l| &l[66..]).collect();
        assert_eq!(paths, ["a.deb", "b.deb", "repodata/x"]);
        assert!(text.starts_with(&format!("{}  a.deb\n", hex::encode(Sha256::digest(b"a")))));
        assert_eq!(check_sha256sums(d).unwrap(), 3);

        std::fs::write(d.join("b.deb"), b"bea").unwrap();
        std::fs::remove_file(d.join("a.deb")).unwrap();
        std::fs::write(d.join("c.deb"), b"c").unwrap();
        let e = check_sha256sums(d).unwrap_err().to_string();
        assert!(e.contains("pigsty/b.deb: SHA-256 mismatch"), "{e}");
        assert!(
            e.contains("pigsty/a.deb: listed in pigsty/SHA256SUMS line 1 but missing"),
            "{e}"
        );
        assert!(e.contains("pigsty/c.deb: not listed"), "{e}");
    }

    #[test]
    fn sha256sums_parser_refuses_bad_lines() {
        let h = "0".repeat(64);
        let ok = parse_sha256sums(&format!("{h}  a\n{h} *b/c\n"), "S").unwrap();
        assert_eq!(ok[1].path, "b/c");
        assert_eq!(ok[1].line, 2);
        for (text, want) in [
            (format!("{h} a\n"), "S:1: expected two spaces"),
            ("xyz  a\n".to_string(), "S:1: \"xyz\" is not a SHA-256"),
            (format!("{h}  ../a\n"), "not a plain relative path"),
            (format!("{h}  /etc/passwd\n"), "not a plain relative path"),
            (format!("{h}  a\n{h}  a\n"), "S:2: a is listed twice"),
            (format!("\\{h}  a\\nb\n"), "S:1: escaped file names"),
            ("nospace\n".to_string(), "S:1: expected `<sha256>  <path>`"),
        ] {
            let e = parse_sha256sums(&text, "S").unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn bundle_file_name_is_pigstys() {
        assert_eq!(
            bundle_file_name("v3.0.0", "d12", "x86_64"),
            "pigsty-pkg-v3.0.0.d12.x86_64.tgz"
        );
    }
}
