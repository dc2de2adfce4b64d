//! `pig-build verify BUNDLE`: prove a bundle is what its manifest says.
//!
//! Five steps, in order: extract safely, check the layout, check the
//! signatures, check every hash, and (unless told not to) prove closure by
//! installing each module's packages from the bundle alone into a fresh
//! root, inside a network namespace with no route: with `mmdebstrap` for
//! an APT bundle, with `dnf --installroot` for an RPM one.
//!
//! A bundle that cannot be read or extracted safely is an error. Anything
//! wrong with what it holds becomes a problem in the [`VerifyReport`],
//! which names the file and what was wrong; the install step runs only when
//! the earlier steps found nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs::{self, File};
use std::io::BufReader;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use flate2::read::MultiGzDecoder;
use pig_repo::deb::packages::{PackageEntry, PackagesReader};
use pig_repo::deb::release::Release;
use pig_repo::resolve::evr_string;
use pig_repo::rpm::repodata::RepodataReader;
use pig_repo::signing::Keyring;
use rayon::prelude::*;
use serde::Serialize;
use tar::EntryType;

use crate::bundle_layout::{
    self, BundleKind, COMMON_FILES, INRELEASE, Manifest, PACKAGES, RELEASE, RELEASE_GPG,
    REPO_COMPLETE, REPODATA, REPOMD, REPOMD_ASC, TOP_DIR,
};

/// Lines of mmdebstrap's or dnf's output kept in the report when an
/// install fails.
const LOG_TAIL_LINES: usize = 25;

/// What `verify_bundle` checks beyond signatures and hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Public key the repository must be signed with; `None` trusts the key
    /// inside the bundle, whose fingerprint must match the manifest.
    pub key: Option<PathBuf>,
    /// Prove closure by installing every module into a fresh root.
    pub install: bool,
    /// Install all modules' packages in one run rather than one run per
    /// module: faster, but does not tell which module is broken.
    pub all_at_once: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            key: None,
            install: true,
            all_at_once: false,
        }
    }
}

/// Outcome of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Passed,
    Failed,
    /// Not run: turned off, or an earlier step failed.
    Skipped,
}

/// One step of the verification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// `extract`, `layout`, `signature`, `hashes` or `closure`.
    pub name: String,
    pub status: CheckStatus,
    pub seconds: f64,
    /// What was checked, or why the step was skipped.
    pub detail: String,
}

/// The result of installing one module's packages from the bundle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModuleInstall {
    /// Module name, or `all` when every module was installed at once.
    pub module: String,
    pub packages: Vec<String>,
    pub ok: bool,
    pub seconds: f64,
    /// The end of mmdebstrap's (or dnf's) output when the install failed:
    /// the package manager's account of what could not be installed.
    pub log_tail: Vec<String>,
}

/// Sizes of what was checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyCounts {
    /// Packages the index lists (`Packages` stanzas or `primary.xml`
    /// packages).
    pub packages: usize,
    /// Package files hashed against the index.
    pub package_files: usize,
    /// Bytes of package files hashed.
    pub package_bytes: u64,
    /// Files checked against `SHA256SUMS`.
    pub sha256sums_files: usize,
    pub modules: usize,
}

/// What `verify_bundle` found. The bundle is good when `problems` is empty.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyReport {
    pub bundle: PathBuf,
    /// From the manifest, once it parsed.
    pub name: Option<String>,
    pub version: Option<String>,
    pub os: Option<String>,
    pub arch: Option<String>,
    /// Fingerprint of the key the signatures were checked with.
    pub key_fingerprint: Option<String>,
    pub checks: Vec<Check>,
    pub counts: VerifyCounts,
    pub modules: Vec<ModuleInstall>,
    /// Everything wrong, each naming the file (as `pigsty/…`) or module.
    pub problems: Vec<String>,
    pub seconds: f64,
}

impl VerifyReport {
    /// Whether every step that ran passed.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn new(bundle: &Path) -> VerifyReport {
        VerifyReport {
            bundle: bundle.to_path_buf(),
            name: None,
            version: None,
            os: None,
            arch: None,
            key_fingerprint: None,
            checks: Vec::new(),
            counts: VerifyCounts::default(),
            modules: Vec::new(),
            problems: Vec::new(),
            seconds: 0.0,
        }
    }

    /// Records a step's outcome; its problems join the report's.
    fn record(&mut self, name: &str, started: Instant, detail: String, problems: Vec<String>) {
        let status = if problems.is_empty() {
            CheckStatus::Passed
        } else {
            CheckStatus::Failed
        };
        self.checks.push(Check {
            name: name.to_string(),
            status,
            seconds: started.elapsed().as_secs_f64(),
            detail,
        });
        self.problems.extend(problems);
    }

    fn skip(&mut self, name: &str, why: &str) {
        self.checks.push(Check {
            name: name.to_string(),
            status: CheckStatus::Skipped,
            seconds: 0.0,
            detail: why.to_string(),
        });
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let describe = |v: &Option<String>| v.as_deref().unwrap_or("?").to_string();
        writeln!(
            f,
            "{}: {} {} ({} {})",
            self.bundle.display(),
            describe(&self.name),
            describe(&self.version),
            describe(&self.os),
            describe(&self.arch)
        )?;
        for c in &self.checks {
            let status = match c.status {
                CheckStatus::Passed => "ok",
                CheckStatus::Failed => "FAILED",
                CheckStatus::Skipped => "skipped",
            };
            writeln!(
                f,
                "  {:<10} {:<8} {:>7.2}s  {}",
                c.name, status, c.seconds, c.detail
            )?;
        }
        for m in &self.modules {
            let status = if m.ok { "ok" } else { "FAILED" };
            writeln!(
                f,
                "  module {:<12} {:<6} {:>7.2}s  {} packages",
                m.module,
                status,
                m.seconds,
                m.packages.len()
            )?;
        }
        for p in &self.problems {
            writeln!(f, "problem: {p}")?;
        }
        for m in self.modules.iter().filter(|m| !m.ok) {
            writeln!(f, "installer output for module {} (end):", m.module)?;
            for line in &m.log_tail {
                writeln!(f, "    {line}")?;
            }
        }
        write!(
            f,
            "{} in {:.1}s",
            if self.ok() {
                "verified"
            } else {
                "NOT verified"
            },
            self.seconds
        )
    }
}

/// Verifies the bundle tarball at `bundle`; see the module documentation
/// for the steps. Errors only when the tarball cannot be read or holds an
/// entry that could land outside the extraction directory; every other
/// finding is a problem in the report.
pub fn verify_bundle(bundle: &Path, opts: &VerifyOptions) -> Result<VerifyReport> {
    let started = Instant::now();
    let mut report = VerifyReport::new(bundle);

    let step = Instant::now();
    let work = tempfile::Builder::new()
        .prefix("pig-verify-")
        .tempdir()
        .context("creating a temporary directory")?;
    // apt reads the repository as the unprivileged _apt user.
    fs::set_permissions(work.path(), fs::Permissions::from_mode(0o755))
        .with_context(|| format!("opening up {}", work.path().display()))?;
    let entries = extract_bundle(bundle, work.path())?;
    report.record(
        "extract",
        step,
        format!("{entries} entries under {TOP_DIR}/"),
        Vec::new(),
    );
    let repo = work.path().join(TOP_DIR);

    let step = Instant::now();
    let manifest = match check_layout(&repo) {
        Ok(m) => {
            report.record(
                "layout",
                step,
                "files present, manifest read".into(),
                vec![],
            );
            m
        }
        Err(e) => {
            report.record(
                "layout",
                step,
                "bundle layout".into(),
                vec![format!("{e:#}")],
            );
            for name in ["signature", "hashes", "closure"] {
                report.skip(name, "the layout is broken");
            }
            report.seconds = started.elapsed().as_secs_f64();
            return Ok(report);
        }
    };
    report.name = Some(manifest.name.clone());
    report.version = Some(manifest.version.clone());
    report.os = Some(manifest.os.clone());
    report.arch = Some(manifest.arch.clone());
    report.counts.modules = manifest.modules.len();

    let step = Instant::now();
    let key_path = match &opts.key {
        Some(k) => k.clone(),
        None => repo.join(&manifest.public_key),
    };
    let key_name = match &opts.key {
        Some(k) => k.display().to_string(),
        None => format!("{TOP_DIR}/{}", manifest.public_key),
    };
    let signed = check_signatures(&repo, &manifest, &key_path, &key_name, opts.key.is_some());
    let signed_files = match manifest.kind {
        BundleKind::Deb => format!("{INRELEASE} and {RELEASE_GPG}"),
        BundleKind::Rpm => format!("{REPOMD} ({REPOMD_ASC})"),
    };
    let signed_index = match signed {
        Ok(s) => {
            report.key_fingerprint = Some(s.fingerprint.clone());
            report.record(
                "signature",
                step,
                format!("{signed_files} signed by {}", s.fingerprint),
                vec![],
            );
            Some(s.index)
        }
        Err(problems) => {
            report.record(
                "signature",
                step,
                format!("signatures against {key_name}"),
                problems,
            );
            None
        }
    };

    let step = Instant::now();
    let problems = check_hashes(
        &repo,
        &manifest,
        signed_index.as_deref(),
        &mut report.counts,
    );
    let detail = format!(
        "{} packages ({} bytes), {} files in SHA256SUMS",
        report.counts.package_files, report.counts.package_bytes, report.counts.sha256sums_files
    );
    report.record("hashes", step, detail, problems);

    if !opts.install {
        report.skip("closure", "install test turned off");
    } else if !report.ok() {
        report.skip("closure", "earlier checks failed");
    } else {
        let step = Instant::now();
        let release = signed_index.as_deref().unwrap_or_default();
        let closure = match manifest.kind {
            BundleKind::Deb => {
                check_closure(work.path(), &repo, &key_path, release, &manifest, opts).map(
                    |(suite, modules)| {
                        let detail = format!(
                            "{} mmdebstrap run(s) with no network, suite {suite}",
                            modules.len()
                        );
                        (detail, modules)
                    },
                )
            }
            BundleKind::Rpm => check_rpm_closure(work.path(), &repo, &key_path, &manifest, opts)
                .map(|modules| {
                    let detail =
                        format!("{} dnf --installroot run(s) with no network", modules.len());
                    (detail, modules)
                }),
        };
        match closure {
            Ok((detail, modules)) => {
                let problems = modules
                    .iter()
                    .filter(|m| !m.ok)
                    .map(|m| {
                        let why = match manifest.kind {
                            BundleKind::Deb => apt_complaint(&m.log_tail),
                            BundleKind::Rpm => dnf_complaint(&m.log_tail),
                        };
                        format!(
                            "module {}: its packages do not install from the bundle alone: {why}",
                            m.module
                        )
                    })
                    .collect();
                report.modules = modules;
                report.record("closure", step, detail, problems);
            }
            Err(e) => report.record(
                "closure",
                step,
                "install test".into(),
                vec![format!("{e:#}")],
            ),
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Extracts the tarball `bundle` into `dest`, refusing anything that is
/// not a file, directory or link under `pigsty/`, and links that leave it.
/// Returns the number of entries extracted.
pub fn extract_bundle(bundle: &Path, dest: &Path) -> Result<usize> {
    let file = File::open(bundle).with_context(|| format!("opening {}", bundle.display()))?;
    let mut archive = tar::Archive::new(MultiGzDecoder::new(BufReader::new(file)));
    archive.set_preserve_permissions(false);
    archive.set_overwrite(true);
    let mut count = 0;
    let entries = archive
        .entries()
        .with_context(|| format!("reading {}", bundle.display()))?;
    for entry in entries {
        let mut entry = entry.with_context(|| format!("reading {}", bundle.display()))?;
        let path = entry
            .path()
            .with_context(|| format!("{}: entry name", bundle.display()))?
            .into_owned();
        let where_ = || {
            format!(
                "{}: entry {:?}",
                bundle.display(),
                path.display().to_string()
            )
        };
        let kind = entry.header().entry_type();
        match kind {
            EntryType::XGlobalHeader => continue,
            EntryType::Regular | EntryType::Continuous | EntryType::Directory => {}
            EntryType::Symlink | EntryType::Link => {}
            other => bail!("{}: unsupported entry type {other:?}", where_()),
        }
        check_member_path(&path).map_err(|why| anyhow::anyhow!("{}: {why}", where_()))?;
        if kind == EntryType::Symlink || kind == EntryType::Link {
            let target = entry
                .link_name()
                .with_context(where_)?
                .ok_or_else(|| anyhow::anyhow!("{}: link without a target", where_()))?
                .into_owned();
            let resolved = if kind == EntryType::Link {
                // Hard-link targets name another member of the archive.
                target.clone()
            } else {
                path.parent().unwrap_or(Path::new("")).join(&target)
            };
            let escapes = normalise(&resolved).map_or(true, |p| check_member_path(&p).is_err());
            if target.is_absolute() || escapes {
                bail!(
                    "{}: link to {:?} points outside {TOP_DIR}/",
                    where_(),
                    target.display().to_string()
                );
            }
        }
        let unpacked = entry
            .unpack_in(dest)
            .with_context(|| format!("extracting {}", where_()))?;
        if !unpacked {
            bail!(
                "{}: refused by the extractor (path leaves the tree)",
                where_()
            );
        }
        count += 1;
    }
    if !dest.join(TOP_DIR).is_dir() {
        bail!(
            "{}: no {TOP_DIR}/ directory in the archive",
            bundle.display()
        );
    }
    Ok(count)
}

/// A member path must be relative, free of `..` and under `pigsty/`.
fn check_member_path(path: &Path) -> std::result::Result<(), String> {
    let mut normal = path
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .peekable();
    match normal.peek() {
        Some(Component::Normal(first)) if *first == TOP_DIR => {}
        Some(Component::RootDir | Component::Prefix(_)) => {
            return Err("absolute path refused".into());
        }
        _ if path.components().any(|c| c == Component::ParentDir) => {
            return Err("`..` in the path refused".into());
        }
        _ => return Err(format!("not under {TOP_DIR}/")),
    }
    if normal.any(|c| !matches!(c, Component::Normal(_))) {
        return Err("`..` in the path refused".into());
    }
    Ok(())
}

/// `path` with `..` applied lexically; an error when it climbs above the
/// top.
fn normalise(path: &Path) -> Result<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    bail!("climbs above the archive root");
                }
            }
            Component::RootDir | Component::Prefix(_) => bail!("absolute"),
        }
    }
    Ok(out)
}

/// Step 2: the files every bundle of its kind holds, and the manifest.
fn check_layout(repo: &Path) -> Result<Manifest> {
    let manifest = Manifest::load(&repo.join(bundle_layout::MANIFEST))?;
    if !repo.join(REPO_COMPLETE).is_file() {
        bail!("{TOP_DIR}/{REPO_COMPLETE}: missing, so the bundle was never completely written");
    }
    if Path::new(&manifest.public_key).components().count() != 1
        || !matches!(
            Path::new(&manifest.public_key).components().next(),
            Some(Component::Normal(_))
        )
    {
        bail!(
            "{TOP_DIR}/{}: public_key {:?} is not a file name",
            bundle_layout::MANIFEST,
            manifest.public_key
        );
    }
    let mut missing: Vec<String> = COMMON_FILES
        .iter()
        .chain(manifest.kind.index_files().iter())
        .copied()
        .chain(std::iter::once(manifest.public_key.as_str()))
        .filter(|name| !repo.join(name).is_file())
        .map(|name| format!("{TOP_DIR}/{name}"))
        .collect();
    missing.sort();
    missing.dedup();
    if !missing.is_empty() {
        bail!("missing from the bundle: {}", missing.join(", "));
    }
    Ok(manifest)
}

/// The outcome of a good signature check.
struct Signed {
    /// The signed index: the `Release` text from `InRelease`, or
    /// `repomd.xml`.
    index: String,
    fingerprint: String,
}

/// Step 3: the repository's index signed by the key at `key_path`, which
/// (when it is the bundle's own) must be the manifest's key.
fn check_signatures(
    repo: &Path,
    manifest: &Manifest,
    key_path: &Path,
    key_name: &str,
    key_given: bool,
) -> std::result::Result<Signed, Vec<String>> {
    let keyring = Keyring::load(key_path)
        .map_err(|e| vec![format!("{key_name}: not a usable OpenPGP key: {e}")])?;
    let mut problems = check_key(&keyring, manifest, key_name, key_given);
    let index = match manifest.kind {
        BundleKind::Deb => check_release_signatures(repo, &keyring, &mut problems),
        BundleKind::Rpm => check_repomd_signature(repo, &keyring, &mut problems),
    };
    match index {
        Some(index) if problems.is_empty() => Ok(Signed {
            index,
            fingerprint: manifest.key_fingerprint.clone(),
        }),
        _ => Err(problems),
    }
}

/// The key holds the manifest's fingerprint, and only it when it is the
/// bundle's own.
fn check_key(
    keyring: &Keyring,
    manifest: &Manifest,
    key_name: &str,
    key_given: bool,
) -> Vec<String> {
    let want = normalise_fingerprint(&manifest.key_fingerprint);
    let fingerprints = keyring.fingerprints();
    let mut problems = Vec::new();
    if !fingerprints
        .iter()
        .any(|f| normalise_fingerprint(f) == want)
    {
        problems.push(format!(
            "{key_name}: holds key(s) {} but {TOP_DIR}/{} says the repository key is {}",
            fingerprints.join(", "),
            bundle_layout::MANIFEST,
            manifest.key_fingerprint
        ));
    }
    if !key_given && fingerprints.len() != 1 {
        problems.push(format!(
            "{key_name}: holds {} keys; a bundle ships exactly its repository key",
            fingerprints.len()
        ));
    }
    problems
}

/// The files `names` of the repository, or `None` with a problem for each
/// that cannot be read.
fn read_repo_files<const N: usize>(
    repo: &Path,
    names: [&str; N],
    problems: &mut Vec<String>,
) -> Option<[Vec<u8>; N]> {
    let mut read = Vec::with_capacity(N);
    for name in names {
        match fs::read(repo.join(name)) {
            Ok(bytes) => read.push(bytes),
            Err(e) => problems.push(format!("reading {TOP_DIR}/{name}: {e}")),
        }
    }
    read.try_into().ok()
}

/// `InRelease` and `Release.gpg` signed by `keyring`, the signed text
/// equal to `Release`; returns that text.
fn check_release_signatures(
    repo: &Path,
    keyring: &Keyring,
    problems: &mut Vec<String>,
) -> Option<String> {
    let [inrelease, release, release_gpg] =
        read_repo_files(repo, [INRELEASE, RELEASE, RELEASE_GPG], problems)?;
    let inrelease_input = format!("{TOP_DIR}/{INRELEASE}");
    let body = match String::from_utf8(inrelease) {
        Ok(text) => match keyring.verify_clearsigned(&text, &inrelease_input) {
            Ok(body) => Some(body),
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        },
        Err(_) => {
            problems.push(format!("{inrelease_input}: not UTF-8 text"));
            None
        }
    };
    if let Err(e) = keyring.verify_detached(&release, &release_gpg, &format!("{TOP_DIR}/{RELEASE}"))
    {
        problems.push(format!("{e} (checked with {TOP_DIR}/{RELEASE_GPG})"));
    }
    if let Some(body) = &body
        && body.as_bytes() != release.as_slice()
    {
        problems.push(format!(
            "{inrelease_input}: its signed text differs from {TOP_DIR}/{RELEASE}"
        ));
    }
    body
}

/// `repomd.xml.asc` a good signature of `repomd.xml` by `keyring`; returns
/// the signed `repomd.xml`.
fn check_repomd_signature(
    repo: &Path,
    keyring: &Keyring,
    problems: &mut Vec<String>,
) -> Option<String> {
    let [repomd, signature] = read_repo_files(repo, [REPOMD, REPOMD_ASC], problems)?;
    if let Err(e) = keyring.verify_detached(&repomd, &signature, &format!("{TOP_DIR}/{REPOMD}")) {
        problems.push(format!("{e} (checked with {TOP_DIR}/{REPOMD_ASC})"));
        return None;
    }
    match String::from_utf8(repomd) {
        Ok(text) => Some(text),
        Err(_) => {
            problems.push(format!("{TOP_DIR}/{REPOMD}: not UTF-8 text"));
            None
        }
    }
}

fn normalise_fingerprint(f: &str) -> String {
    f.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// One package as the repository's index lists it, whatever the format:
/// a `Packages` stanza or a `primary.xml` package.
struct IndexedPackage {
    /// Where the index lists it, for messages (`pigsty/Packages line 12
    /// (jq)`).
    at: String,
    name: String,
    version: String,
    arch: String,
    /// Path relative to the repository root, when it is a plain relative
    /// path.
    file: Option<String>,
    size: Option<u64>,
    /// Digest type as the index names it (`sha256`) and lower-case hex.
    checksum: Option<(String, String)>,
}

impl IndexedPackage {
    /// The package's SHA-256, when the index gives one.
    fn sha256(&self) -> Option<&str> {
        match &self.checksum {
            Some((kind, hex)) if kind == "sha256" => Some(hex),
            _ => None,
        }
    }
}

/// Step 4: the index against its signed root (`Release` or
/// `repomd.xml`), packages against the index and the manifest, and
/// `SHA256SUMS`. `signed_index` is the verified `Release` text; when the
/// signature failed the unsigned file is used, so the hash findings are
/// still reported.
fn check_hashes(
    repo: &Path,
    manifest: &Manifest,
    signed_index: Option<&str>,
    counts: &mut VerifyCounts,
) -> Vec<String> {
    let (mut problems, input, packages) = match manifest.kind {
        BundleKind::Deb => deb_index(repo, signed_index),
        BundleKind::Rpm => rpm_index(repo),
    };
    counts.packages = packages.len();
    problems.extend(check_package_files(repo, &packages, counts));
    problems.extend(check_manifest_packages(manifest, &packages, &input));
    problems.extend(check_unlisted_packages(
        repo,
        &packages,
        manifest.kind.package_extension(),
        &input,
    ));
    match bundle_layout::check_sha256sums(repo) {
        Ok(n) => counts.sha256sums_files = n,
        Err(e) => problems.push(format!("{e:#}")),
    }
    problems
}

/// `Packages` and `Packages.gz` against `Release`; the stanzas of
/// `Packages`. Returns the problems, the name of the package index, and
/// its packages.
fn deb_index(
    repo: &Path,
    signed_release: Option<&str>,
) -> (Vec<String>, String, Vec<IndexedPackage>) {
    let mut problems = Vec::new();
    let packages_input = format!("{TOP_DIR}/{PACKAGES}");
    let release_input = format!("{TOP_DIR}/{RELEASE}");
    let release_text = match signed_release {
        Some(t) => t.to_string(),
        None => match fs::read_to_string(repo.join(RELEASE)) {
            Ok(t) => t,
            Err(e) => {
                return (
                    vec![format!("{release_input}: {e}")],
                    packages_input,
                    vec![],
                );
            }
        },
    };
    let release = match Release::parse(&release_text, &release_input) {
        Ok(r) => r,
        Err(e) => return (vec![e.to_string()], packages_input, vec![]),
    };
    if !release.files.iter().any(|f| f.path == PACKAGES) {
        problems.push(format!("{release_input}: does not list {PACKAGES}"));
    }
    for listed in &release.files {
        match fs::read(repo.join(&listed.path)) {
            Ok(bytes) => {
                if let Err(e) = release.verify_file(&listed.path, &bytes, &release_input) {
                    problems.push(format!("{TOP_DIR}/{}: {e}", listed.path));
                }
            }
            Err(e) => problems.push(format!(
                "{TOP_DIR}/{}: listed in {release_input} but unreadable: {e}",
                listed.path
            )),
        }
    }

    let entries: Vec<PackageEntry> = match fs::read(repo.join(PACKAGES)) {
        Ok(bytes) => {
            match PackagesReader::new(bytes.as_slice(), &packages_input).collect::<Result<_, _>>() {
                Ok(entries) => entries,
                Err(e) => {
                    problems.push(e.to_string());
                    Vec::new()
                }
            }
        }
        Err(e) => {
            problems.push(format!("{packages_input}: {e}"));
            Vec::new()
        }
    };
    let packages = entries
        .iter()
        .map(|e| IndexedPackage {
            at: format!("{packages_input} line {} ({})", e.line(), e.name()),
            name: e.name().to_string(),
            version: e.version().to_string(),
            arch: e.architecture().to_string(),
            file: e.filename().and_then(plain_relative),
            size: e.size(),
            checksum: e
                .sha256()
                .map(|h| ("sha256".to_string(), h.to_ascii_lowercase())),
        })
        .collect();
    (problems, packages_input, packages)
}

/// Every file `repomd.xml` lists against its size and checksums (of the
/// file and of its decompressed contents); the packages of `primary.xml`.
/// Returns the problems, the name of the primary document, and its
/// packages.
fn rpm_index(repo: &Path) -> (Vec<String>, String, Vec<IndexedPackage>) {
    let repomd_input = format!("{TOP_DIR}/{REPOMD}");
    let reader = match RepodataReader::open(repo) {
        Ok(r) => r,
        Err(e) => return (vec![format!("{repomd_input}: {e}")], repomd_input, vec![]),
    };
    // The reader joins `location href`s to the repository: refuse any that
    // would leave it before anything is opened.
    let escaping: Vec<String> = reader
        .repomd()
        .records
        .iter()
        .filter(|r| plain_relative(&r.location_href).is_none())
        .map(|r| {
            format!(
                "{repomd_input}: data[{}] location {:?} is not a plain relative path",
                r.kind, r.location_href
            )
        })
        .collect();
    if !escaping.is_empty() {
        return (escaping, repomd_input, vec![]);
    }
    let mut problems = Vec::new();
    if let Err(e) = reader.verify_all() {
        problems.push(format!(
            "{TOP_DIR}/{REPODATA}/{e} (checked against {repomd_input})"
        ));
    }
    let Some(primary) = reader.repomd().record("primary") else {
        problems.push(format!("{repomd_input}: lists no primary data"));
        return (problems, repomd_input, vec![]);
    };
    let primary_input = format!("{TOP_DIR}/{}", primary.location_href);
    let packages = match reader
        .packages()
        .and_then(|iter| iter.collect::<pig_repo::Result<Vec<_>>>())
    {
        Ok(packages) => packages,
        Err(e) => {
            problems.push(format!("{primary_input}: {e}"));
            Vec::new()
        }
    };
    let packages = packages
        .into_iter()
        .map(|p| {
            let version = evr_string(&p);
            IndexedPackage {
                at: format!("{primary_input} package {}-{version}.{}", p.name, p.arch),
                file: match p.location_base {
                    // A package elsewhere is not in the bundle.
                    Some(_) => None,
                    None => plain_relative(&p.location_href),
                },
                size: Some(p.size),
                checksum: Some((
                    p.checksum_type.to_ascii_lowercase(),
                    p.checksum.to_ascii_lowercase(),
                )),
                name: p.name,
                version,
                arch: p.arch,
            }
        })
        .collect();
    (problems, primary_input, packages)
}

/// `name` without a leading `./`, when it is a plain relative path: no
/// leading `/`, no empty, `.` or `..` components.
fn plain_relative(name: &str) -> Option<String> {
    let name = name.strip_prefix("./").unwrap_or(name);
    let plain = !name.is_empty()
        && !name.starts_with('/')
        && name
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..");
    plain.then(|| name.to_string())
}

/// Size and lower-case hex digest of the file at `path` with the digest
/// an index names; `None` for a digest pig does not compute. SHA-1 and
/// MD5 are refused: a bundle's own index always says sha256.
fn file_digest(path: &Path, kind: &str) -> Option<std::io::Result<(u64, String)>> {
    fn stream<D: sha2::Digest>(path: &Path) -> std::io::Result<(u64, String)> {
        let mut file = File::open(path)?;
        let mut hasher = D::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut size = 0u64;
        loop {
            let n = std::io::Read::read(&mut file, &mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        Ok((size, hex::encode(hasher.finalize())))
    }
    match kind {
        "sha256" => Some(bundle_layout::sha256_file(path)),
        "sha224" => Some(stream::<sha2::Sha224>(path)),
        "sha384" => Some(stream::<sha2::Sha384>(path)),
        "sha512" => Some(stream::<sha2::Sha512>(path)),
        _ => None,
    }
}

/// Every indexed package's file present with its size and checksum,
/// hashed in parallel.
fn check_package_files(
    repo: &Path,
    packages: &[IndexedPackage],
    counts: &mut VerifyCounts,
) -> Vec<String> {
    let results: Vec<std::result::Result<u64, String>> = packages
        .par_iter()
        .map(|p| {
            let at = &p.at;
            let file = p
                .file
                .as_ref()
                .ok_or_else(|| format!("{at}: file name missing or not a plain relative path"))?;
            let (size, (kind, want)) = match (p.size, &p.checksum) {
                (Some(s), Some(c)) => (s, c),
                _ => return Err(format!("{at}: size or checksum missing")),
            };
            let path = repo.join(file);
            let (actual_size, actual) = file_digest(&path, kind)
                .ok_or_else(|| format!("{at}: unsupported checksum type {kind:?}"))?
                .map_err(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        format!("{TOP_DIR}/{file}: missing, but listed in {at}")
                    } else {
                        format!("{TOP_DIR}/{file}: {e}")
                    }
                })?;
            if actual_size != size {
                return Err(format!(
                    "{TOP_DIR}/{file}: size {actual_size} but {at} says {size}"
                ));
            }
            if actual != *want {
                return Err(format!(
                    "{TOP_DIR}/{file}: {} {actual} but {at} says {want}",
                    kind.to_ascii_uppercase()
                ));
            }
            Ok(size)
        })
        .collect();
    let mut problems = Vec::new();
    for r in results {
        match r {
            Ok(size) => {
                counts.package_files += 1;
                counts.package_bytes += size;
            }
            Err(p) => problems.push(p),
        }
    }
    problems
}

/// Every manifest package in the index with the same name, version, arch
/// and hash, and every indexed package in the manifest.
fn check_manifest_packages(
    manifest: &Manifest,
    packages: &[IndexedPackage],
    input: &str,
) -> Vec<String> {
    let manifest_input = format!("{TOP_DIR}/{}", bundle_layout::MANIFEST);
    let by_file: HashMap<&str, &IndexedPackage> = packages
        .iter()
        .filter_map(|p| Some((p.file.as_deref()?, p)))
        .collect();
    let mut problems = Vec::new();
    let mut in_manifest = HashSet::new();
    for p in &manifest.packages {
        let file = p.filename.strip_prefix("./").unwrap_or(&p.filename);
        in_manifest.insert(file.to_string());
        let Some(e) = by_file.get(file) else {
            problems.push(format!(
                "{manifest_input}: package {} {} ({file}) is not in {input}",
                p.name, p.version
            ));
            continue;
        };
        // An index with another digest is checked against the file itself
        // (check_package_files), and SHA256SUMS covers the file's SHA-256.
        let same_hash = e
            .sha256()
            .is_none_or(|h| h == p.sha256.to_ascii_lowercase());
        let same = e.name == p.name
            && e.version == p.version
            && e.arch == p.arch
            && e.size == Some(p.size)
            && same_hash;
        if !same {
            problems.push(format!(
                "{manifest_input}: package {} {} {} ({file}, {} bytes, sha256 {}) differs from \
                 {}: {} {} {} ({} bytes, sha256 {})",
                p.name,
                p.version,
                p.arch,
                p.size,
                p.sha256,
                e.at,
                e.name,
                e.version,
                e.arch,
                e.size.map_or("?".to_string(), |s| s.to_string()),
                e.sha256().unwrap_or("?")
            ));
        }
    }
    for (file, e) in &by_file {
        if !in_manifest.contains(*file) {
            problems.push(format!(
                "{}: {} {} ({file}) is not in {manifest_input}",
                e.at, e.name, e.version
            ));
        }
    }
    problems.sort();
    problems
}

/// No package file (`extension`: `.deb` or `.rpm`) in the tree that the
/// index does not list.
fn check_unlisted_packages(
    repo: &Path,
    packages: &[IndexedPackage],
    extension: &str,
    input: &str,
) -> Vec<String> {
    let listed: HashSet<&str> = packages.iter().filter_map(|p| p.file.as_deref()).collect();
    let mut problems = Vec::new();
    for entry in walkdir::WalkDir::new(repo).min_depth(1).sort_by_file_name() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                problems.push(format!("listing {TOP_DIR}/: {e}"));
                continue;
            }
        };
        let Ok(rel) = entry.path().strip_prefix(repo) else {
            continue;
        };
        let rel = rel.to_string_lossy();
        if rel.ends_with(extension) && !listed.contains(rel.as_ref()) {
            problems.push(format!("{TOP_DIR}/{rel}: not listed in {input}"));
        }
    }
    problems
}

/// The command that installs `packages` (plus Debian's minbase set) into
/// the new directory `target` with `source` (a full sources.list line) as
/// the only repository.
///
/// It runs in new network and mount namespaces: the only interface is a
/// down loopback, so nothing can be fetched from anywhere else, and the
/// bind mounts mmdebstrap makes (the `file-mirror-automount` hook mounts
/// `file://` repositories into the chroot) vanish with the process even
/// when mmdebstrap fails before unmounting them.
///
/// `suite` must be the repository's `Suite` or `Codename`: mmdebstrap
/// selects the `Priority: required` packages with
/// `?archive(^suite$)|?codename(^suite$)`, and any other name fails.
/// `keyring` is the key `source` names with `signed-by=`; a setup hook
/// copies it to the same path inside the chroot so that the chroot's own
/// apt trusts the repository too. mmdebstrap's temporary files go to the
/// directory holding `target`.
pub fn closure_command(
    suite: &str,
    source: &str,
    keyring: &Path,
    packages: &[String],
    target: &Path,
) -> Command {
    let mut cmd = offline("mmdebstrap");
    cmd.args(["--variant=minbase", "--mode=root"]);
    if !packages.is_empty() {
        cmd.arg(format!("--include={}", packages.join(",")));
    }
    let key_dir = keyring.parent().unwrap_or(Path::new("/"));
    cmd.arg(format!(
        "--setup-hook=mkdir -p \"$1{}\" && cp \"{}\" \"$1{}\"",
        key_dir.display(),
        keyring.display(),
        keyring.display()
    ))
    .arg("--hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount")
    // Never fall back to unsigned data, whatever apt's defaults become.
    .arg("--aptopt=Acquire::AllowInsecureRepositories \"false\"")
    .arg("--aptopt=APT::Get::AllowUnauthenticated \"false\"")
    .arg("--aptopt=Acquire::Languages \"none\"")
    // The root is thrown away: dpkg's fsync after every file would only
    // cost time.
    .arg("--dpkgopt=force-unsafe-io")
    .arg(suite)
    .arg(target)
    .arg(source);
    // mmdebstrap leaves temporary files (a gpg home) behind when it fails:
    // keep them beside the root, where the caller cleans up.
    if let Some(dir) = target.parent() {
        cmd.env("TMPDIR", dir);
    }
    cmd
}

/// The suite name mmdebstrap must be given for the repository whose signed
/// `Release` is `release`: its `Suite`, else its `Codename`.
fn release_suite(release: &str) -> Result<String> {
    let release = Release::parse(release, &format!("{TOP_DIR}/{INRELEASE}"))?;
    ["Suite", "Codename"]
        .iter()
        .find_map(|f| release.fields.get(f).map(|v| v.trim().to_string()))
        .filter(|v| !v.is_empty() && !v.contains(char::is_whitespace))
        .with_context(|| {
            format!(
                "{TOP_DIR}/{INRELEASE}: no Suite or Codename, which mmdebstrap needs to find \
                 the Priority: required packages"
            )
        })
}

/// Step 5: install each module (or all at once) from the bundle alone.
fn check_closure(
    work: &Path,
    repo: &Path,
    key_path: &Path,
    release: &str,
    manifest: &Manifest,
    opts: &VerifyOptions,
) -> Result<(String, Vec<ModuleInstall>)> {
    for tool in ["unshare", "mmdebstrap"] {
        which(tool).with_context(|| {
            format!("the install test needs {tool} (or turn the install test off)")
        })?;
    }
    let suite = release_suite(release)?;
    // apt needs `.asc` for an armored key and `.gpg` for a binary one, and
    // the key must be readable by _apt: use a copy named accordingly.
    let key_bytes =
        fs::read(key_path).with_context(|| format!("reading {}", key_path.display()))?;
    let ext = if key_bytes.starts_with(b"-----BEGIN") {
        "asc"
    } else {
        "gpg"
    };
    let keyring = work.join(format!("signed-by.{ext}"));
    fs::write(&keyring, &key_bytes).with_context(|| format!("writing {}", keyring.display()))?;
    fs::set_permissions(&keyring, fs::Permissions::from_mode(0o644))
        .with_context(|| format!("opening up {}", keyring.display()))?;
    let source = format!(
        "deb [signed-by={}] file://{} ./",
        keyring.display(),
        repo.display()
    );

    let mut results = Vec::new();
    for (i, (module, packages)) in install_runs(manifest, opts).into_iter().enumerate() {
        let started = Instant::now();
        let target = work.join(format!("root-{i}"));
        let mut cmd = closure_command(&suite, &source, &keyring, &packages, &target);
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {cmd:?}"))?;
        remove_root(&target)?;
        results.push(module_install(module, packages, &out, started));
    }
    Ok((suite, results))
}

/// `program` in new network and mount namespaces: only a down loopback,
/// so nothing is fetched but from `file://`, and its mounts vanish with it.
fn offline(program: &str) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["--net", "--mount", "--propagation=private", "--", program]);
    cmd
}

/// The command that installs `packages` with dnf into the new directory
/// `root`, from the RPM repository at `repo` alone, checking its
/// `repomd.xml` signature with the armored public key `key`, as release
/// `releasever` ([`releasever`]).
///
/// It runs in new network and mount namespaces, so nothing can be fetched
/// from anywhere but the `file://` repository. `reposdir=/dev/null` keeps
/// the host's repositories out; dnf's cache goes to `cache`.
/// `repo_gpgcheck=1` makes dnf refuse metadata whose signature does not
/// verify, and that signed metadata pins every package by its checksum;
/// `gpgcheck=0` because the packages themselves carry their upstreams'
/// signatures (or, for pig-install, none), which are not the bundle's to
/// vouch for. `module_hotfixes=1`: the bundle ships no modulemd documents,
/// and without it EL's module filtering hides PGDG's packages.
pub fn rpm_closure_command(
    repo: &Path,
    key: &Path,
    packages: &[String],
    root: &Path,
    cache: &Path,
    releasever: &str,
) -> Command {
    let mut cmd = offline("dnf");
    cmd.arg("-y")
        .arg(format!("--installroot={}", root.display()))
        .arg(format!("--releasever={releasever}"))
        .arg("--noplugins")
        .arg("--setopt=reposdir=/dev/null")
        .arg(format!("--setopt=cachedir={}", cache.display()))
        .arg("--setopt=install_weak_deps=False")
        .arg("--setopt=tsflags=nodocs")
        .arg(format!("--repofrompath=pigsty,file://{}", repo.display()))
        .arg("--setopt=pigsty.gpgcheck=0")
        .arg("--setopt=pigsty.repo_gpgcheck=1")
        .arg(format!("--setopt=pigsty.gpgkey=file://{}", key.display()))
        .arg("--setopt=pigsty.skip_if_unavailable=False")
        .arg("--setopt=pigsty.module_hotfixes=1")
        .arg("install")
        .arg("--")
        .args(packages);
    cmd
}

/// Step 5 for an RPM bundle: install each module (or all at once) with
/// dnf from the bundle alone.
fn check_rpm_closure(
    work: &Path,
    repo: &Path,
    key_path: &Path,
    manifest: &Manifest,
    opts: &VerifyOptions,
) -> Result<Vec<ModuleInstall>> {
    for tool in ["unshare", "dnf"] {
        which(tool).with_context(|| {
            format!("the install test needs {tool} (or turn the install test off)")
        })?;
    }
    let releasever = releasever(&manifest.os)?;
    // A copy at a path of our own: the key may be the bundle's, or given.
    let key = work.join("repo-key.asc");
    fs::copy(key_path, &key)
        .with_context(|| format!("copying {} to {}", key_path.display(), key.display()))?;
    let mut results = Vec::new();
    for (i, (module, packages)) in install_runs(manifest, opts).into_iter().enumerate() {
        let started = Instant::now();
        let root = work.join(format!("root-{i}"));
        let cache = work.join(format!("dnf-cache-{i}"));
        fs::create_dir(&root).with_context(|| format!("creating {}", root.display()))?;
        let mut cmd = rpm_closure_command(repo, &key, &packages, &root, &cache, releasever);
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {cmd:?}"))?;
        remove_root(&root)?;
        remove_root(&cache)?;
        results.push(module_install(module, packages, &out, started));
    }
    Ok(results)
}

/// dnf's `$releasever` for a bundle's OS: its trailing number (`el9` → 9).
fn releasever(os: &str) -> Result<&str> {
    let digits = os.trim_start_matches(|c: char| !c.is_ascii_digit());
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        bail!(
            "{TOP_DIR}/{}: os {os:?} does not end in a release number (like el9)",
            bundle_layout::MANIFEST
        );
    }
    Ok(digits)
}

/// The runs the install test makes: one per module, or one of every
/// module's packages.
fn install_runs(manifest: &Manifest, opts: &VerifyOptions) -> BTreeMap<String, Vec<String>> {
    if opts.all_at_once {
        let mut all: Vec<String> = manifest.modules.values().flatten().cloned().collect();
        all.sort();
        all.dedup();
        BTreeMap::from([("all".to_string(), all)])
    } else {
        manifest.modules.clone()
    }
}

/// The outcome of one install run, with the end of its output when it
/// failed.
fn module_install(
    module: String,
    packages: Vec<String>,
    out: &std::process::Output,
    started: Instant,
) -> ModuleInstall {
    let ok = out.status.success();
    let log_tail = if ok {
        Vec::new()
    } else {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..]
            .iter()
            .map(|l| l.to_string())
            .collect()
    };
    ModuleInstall {
        module,
        packages,
        ok,
        seconds: started.elapsed().as_secs_f64(),
        log_tail,
    }
}

/// dnf's reason for a failed install: its `Error:` and `Problem` lines and
/// the unmet requirements under them, else the last line.
fn dnf_complaint(tail: &[String]) -> String {
    let reasons: Vec<&str> = tail
        .iter()
        .map(|l| l.trim())
        .filter(|l| {
            l.starts_with("Error:")
                || l.starts_with("Problem")
                || l.starts_with("- nothing provides")
                || l.starts_with("- package")
                || l.contains("No match for argument")
                || l.contains("Failed to download metadata")
                || l.contains("GPG")
        })
        .collect();
    if reasons.is_empty() {
        tail.last().cloned().unwrap_or_else(|| "dnf failed".into())
    } else {
        reasons.join("; ")
    }
}

/// Removes a root mmdebstrap made, refusing while anything is still
/// mounted below it: deleting through a bind mount would delete the
/// bundle's repository (or worse) instead.
fn remove_root(root: &Path) -> Result<()> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").context("reading mountinfo")?;
    let prefix = format!("{}/", root.display());
    if let Some(line) = mountinfo.lines().find(|l| {
        l.split(' ')
            .nth(4)
            .is_some_and(|m| m == root.as_os_str() || m.starts_with(&prefix))
    }) {
        bail!(
            "{}: still mounted after mmdebstrap exited ({line}); not removing it",
            root.display()
        );
    }
    match fs::remove_dir_all(root) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", root.display())),
    }
}

/// apt's reason for a failed install, from the end of mmdebstrap's output:
/// the unmet dependencies and apt's own errors, else the last line.
fn apt_complaint(tail: &[String]) -> String {
    let reasons: Vec<&str> = tail
        .iter()
        .map(|l| l.trim())
        .filter(|l| {
            l.contains(" : Depends:")
                || l.contains(" : PreDepends:")
                || (l.starts_with("E:")
                    && !l.starts_with("E: setup failed")
                    && !l.starts_with("E: mmdebstrap failed")
                    && !l.starts_with("E: Sub-process"))
        })
        .collect();
    if reasons.is_empty() {
        tail.last()
            .cloned()
            .unwrap_or_else(|| "mmdebstrap failed".into())
    } else {
        reasons.join("; ")
    }
}

/// The full path of `tool` on `PATH`.
fn which(tool: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .ok_or_else(|| anyhow::anyhow!("{tool} not found on PATH"))
}

/// `pig-build verify`: exit 0 when the bundle is good, 1 otherwise.
pub fn run(args: &crate::cmdline::VerifyArgs) -> Result<()> {
    let opts = VerifyOptions {
        key: args.key.clone(),
        install: !args.no_install,
        all_at_once: false,
    };
    let report = verify_bundle(&args.bundle, &opts)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    if !report.ok() {
        bail!(
            "{}: {} problem(s) found",
            args.bundle.display(),
            report.problems.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {

    #[test]
    fn releasever_is_the_os_number() {
        assert_eq!(releasever("el9").unwrap(), "9");
        assert_eq!(releasever("el10").unwrap(), "10");
        assert!(releasever("fedora").is_err());
        assert!(releasever("el9x").is_err());
    }

    use super::*;

    #[test]
    fn member_paths_must_stay_under_pigsty() {
        assert!(check_member_path(Path::new("pigsty/a.deb")).is_ok());
        assert!(check_member_path(Path::new("./pigsty/repodata/x")).is_ok());
        assert!(check_member_path(Path::new("pigsty")).is_ok());
        for (path, why) in [
            ("/etc/passwd", "absolute"),
            ("pigsty/../x", "`..`"),
            ("../pigsty/x", "`..`"),
            ("other/x", "not under pigsty/"),
            ("pigstyx/a", "not under pigsty/"),
        ] {
            let e = check_member_path(Path::new(path)).unwrap_err();
            assert!(e.contains(why), "{path}: {e}");
        }
    }

    #[test]
    fn normalise_refuses_climbing_out() {
        assert_eq!(
            normalise(Path::new("pigsty/a/../b")).unwrap(),
            Path::new("pigsty/b")
        );
        assert!(normalise(Path::new("pigsty/../../x")).is_err());
        assert_eq!(normalise(Path::new("pigsty/..")).unwrap(), Path::new(""));
    }

    #[test]
    fn apt_complaint_picks_the_dependency_lines() {
        let tail: Vec<String> = [
            "I: running apt-get install",
            " jq : Depends: libonig5 (>= 6.9.1) but it is not installable",
            "E: Unable to correct problems, you have held broken packages.",
            "E: apt-get install failed",
            "E: setup failed: E: apt-get -o Dir::Bin::dpkg=env … failed",
        ]
        .map(String::from)
        .to_vec();
        let c = apt_complaint(&tail);
        assert!(c.starts_with("jq : Depends: libonig5"), "{c}");
        assert!(c.contains("E: apt-get install failed"));
        assert!(!c.contains("setup failed"), "{c}");
        assert_eq!(apt_complaint(&["boom".to_string()]), "boom");
    }
}
