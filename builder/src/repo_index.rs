//! `pig-build repo index`: index a directory of .deb and .rpm files as a
//! flat APT repository and an RPM `repodata/`, signed when a key is given.
//!
//! Packages are read and hashed in parallel. What was learnt about each
//! package is kept in `DIR/.pig-index.json`, keyed by path, size and mtime,
//! so re-indexing an unchanged directory reads no package again.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use pig_repo::compress::Compression;
use pig_repo::deb::control::{self, Paragraph};
use pig_repo::deb::debfile::scan_deb;
use pig_repo::deb::packages::{index_entry, write_packages};
use pig_repo::deb::release::{HashKind, Release};
use pig_repo::deb::version;
use pig_repo::rpm::header::{RpmInfo, read_rpm};
use pig_repo::rpm::repodata::{IndexKey, RepodataWriter};
use pig_repo::signing::SigningKey;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cmdline::RepoIndexArgs;
use pig_repo::atomic::write_file as write_atomic;

/// The per-directory cache of scanned packages.
const CACHE_FILE: &str = ".pig-index.json";
const CACHE_FORMAT: u32 = 1;
/// Files of the flat APT repository, in the order they are renamed into
/// place: the signed Release files last, so a reader that sees a new
/// `InRelease` also sees the indexes it lists.
const APT_FILES: [&str; 5] = [
    "Packages.gz",
    "Packages",
    "Release",
    "Release.gpg",
    "InRelease",
];

/// What one run did, printed as text or JSON.
#[derive(Debug, Serialize)]
pub struct IndexSummary {
    pub dir: PathBuf,
    pub debs: usize,
    pub rpms: usize,
    /// Packages read this run.
    pub scanned: usize,
    /// Packages whose earlier results were reused.
    pub reused: usize,
    /// Fingerprint of the signing key, when signed.
    pub signed_by: Option<String>,
    /// Public key written beside a newly generated secret key.
    pub public_key: Option<PathBuf>,
    pub written: Vec<String>,
    pub seconds: f64,
}

/// How to index.
pub struct IndexOptions {
    /// Signing key (already loaded or generated).
    pub key: Option<SigningKey>,
    /// `Date` of `Release` and timestamp of `repomd.xml`, seconds since the epoch.
    pub date: i64,
}

pub fn run(args: &RepoIndexArgs) -> Result<()> {
    let date = source_date_epoch()?;
    let (key, public_key) = match &args.sign_key {
        Some(path) => {
            let (key, public) = load_or_generate_key(path, date)?;
            (Some(key), public)
        }
        None => (None, None),
    };
    let mut summary = index_dir(&args.dir, IndexOptions { key, date })?;
    summary.public_key = public_key;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{}: {} .deb, {} .rpm ({} read, {} reused) in {:.2} s{}",
            summary.dir.display(),
            summary.debs,
            summary.rpms,
            summary.scanned,
            summary.reused,
            summary.seconds,
            match &summary.signed_by {
                Some(fp) => format!(", signed by {fp}"),
                None => ", unsigned".to_string(),
            }
        );
        if let Some(public) = &summary.public_key {
            println!("new signing key; public key: {}", public.display());
        }
    }
    Ok(())
}

/// `SOURCE_DATE_EPOCH` when set (reproducible builds), else now.
pub fn source_date_epoch() -> Result<i64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .trim()
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={v:?}: expected seconds since 1970")),
        Err(_) => Ok(SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .context("system clock before 1970")?
            .as_secs() as i64),
    }
}

/// Load the armored secret key at `path`, or generate one there (and its
/// public half beside it) when the file does not exist. Returns the public
/// key's path when a key was generated.
pub fn load_or_generate_key(path: &Path, date: i64) -> Result<(SigningKey, Option<PathBuf>)> {
    if path.exists() {
        let key = SigningKey::load(path).with_context(|| format!("loading {}", path.display()))?;
        return Ok((key, None));
    }
    // The key must not be younger than the signatures it makes, or gpgv
    // rejects them; a reproducible build dates both at SOURCE_DATE_EPOCH.
    let created = UNIX_EPOCH + std::time::Duration::from_secs(date.max(0) as u64);
    let key = SigningKey::generate("pig repository signing key", created)?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    key.save(path)?;
    let public = public_key_path(path);
    write_atomic(&public, key.public_armored().as_bytes())?;
    Ok((key, Some(public)))
}

/// `repo-key.asc` → `repo-key.pub.asc`.
pub fn public_key_path(secret: &Path) -> PathBuf {
    let name = secret
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let stem = name.strip_suffix(".asc").unwrap_or(&name);
    secret.with_file_name(format!("{stem}.pub.asc"))
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ScanCache {
    format: u32,
    entries: BTreeMap<String, CachedPackage>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CachedPackage {
    size: u64,
    mtime_ns: i128,
    #[serde(flatten)]
    scanned: Scanned,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Scanned {
    /// The `Packages` stanza, as text.
    Deb(String),
    Rpm(Box<RpmInfo>),
}

struct Found {
    rel: String,
    path: PathBuf,
    size: u64,
    mtime_ns: i128,
}

/// Index `dir` in place.
pub fn index_dir(dir: &Path, opts: IndexOptions) -> Result<IndexSummary> {
    let started = Instant::now();
    let found = find_packages(dir)?;
    let cache_path = dir.join(CACHE_FILE);
    let old = load_cache(&cache_path);

    let (reused, to_scan): (Vec<_>, Vec<_>) = found.into_iter().partition(|f| {
        old.entries
            .get(&f.rel)
            .is_some_and(|c| c.size == f.size && c.mtime_ns == f.mtime_ns)
    });
    let scanned: Vec<Result<(String, CachedPackage)>> = to_scan
        .par_iter()
        .map(|f| {
            let scanned = scan(f)?;
            Ok((
                f.rel.clone(),
                CachedPackage {
                    size: f.size,
                    mtime_ns: f.mtime_ns,
                    scanned,
                },
            ))
        })
        .collect();
    let mut errors = Vec::new();
    let mut cache = ScanCache {
        format: CACHE_FORMAT,
        entries: BTreeMap::new(),
    };
    for r in scanned {
        match r {
            Ok((rel, c)) => {
                cache.entries.insert(rel, c);
            }
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    if !errors.is_empty() {
        bail!(
            "{} package(s) could not be read:\n  {}",
            errors.len(),
            errors.join("\n  ")
        );
    }
    let reused_count = reused.len();
    for f in reused {
        if let Some(c) = old.entries.get(&f.rel) {
            cache.entries.insert(f.rel, c.clone());
        }
    }

    let mut debs = Vec::new();
    let mut rpms = Vec::new();
    for (rel, c) in &cache.entries {
        match &c.scanned {
            Scanned::Deb(text) => debs.push(
                control::parse_one(text, &format!("{CACHE_FILE} entry {rel}"))
                    .context("reading the index cache")?,
            ),
            Scanned::Rpm(info) => rpms.push((rel.as_str(), info.as_ref())),
        }
    }

    let mut written = Vec::new();
    if debs.is_empty() {
        remove_stale(dir, &APT_FILES)?;
    } else {
        written.extend(write_apt(dir, &mut debs, &opts)?);
    }
    if rpms.is_empty() {
        remove_stale(dir, &["repodata"])?;
    } else {
        written.extend(write_rpm(dir, &mut rpms, &opts)?);
    }
    let summary = IndexSummary {
        dir: dir.to_path_buf(),
        debs: debs.len(),
        rpms: rpms.len(),
        scanned: to_scan.len(),
        reused: reused_count,
        signed_by: opts.key.as_ref().map(|k| k.fingerprint()),
        public_key: None,
        written,
        seconds: started.elapsed().as_secs_f64(),
    };
    write_atomic(&cache_path, serde_json::to_string(&cache)?.as_bytes())?;
    Ok(summary)
}

fn find_packages(dir: &Path) -> Result<Vec<Found>> {
    let meta = fs::metadata(dir).with_context(|| format!("{}", dir.display()))?;
    if !meta.is_dir() {
        bail!("{}: not a directory", dir.display());
    }
    let mut found = Vec::new();
    let walk = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_hidden_or_metadata(e.file_name()));
    for entry in walk {
        let entry = entry.with_context(|| format!("walking {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy();
        if !entry.file_type().is_file() || !(name.ends_with(".deb") || name.ends_with(".rpm")) {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .expect("walkdir yields paths under its root")
            .to_str()
            .with_context(|| format!("{}: file name is not UTF-8", entry.path().display()))?
            .to_string();
        let meta = entry
            .metadata()
            .with_context(|| format!("{}", entry.path().display()))?;
        found.push(Found {
            rel,
            path: entry.path().to_path_buf(),
            size: meta.len(),
            mtime_ns: mtime_ns(&meta),
        });
    }
    Ok(found)
}

fn is_hidden_or_metadata(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with('.') || name == "repodata"
}

fn mtime_ns(meta: &fs::Metadata) -> i128 {
    use std::os::unix::fs::MetadataExt;
    i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec())
}

fn load_cache(path: &Path) -> ScanCache {
    // A missing, old or damaged cache only costs a rescan.
    fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<ScanCache>(&bytes).ok())
        .filter(|c| c.format == CACHE_FORMAT)
        .unwrap_or_default()
}

fn scan(f: &Found) -> Result<Scanned> {
    if f.rel.ends_with(".deb") {
        let s = scan_deb(&f.path)?;
        let entry = index_entry(&s.deb, &f.rel, s.size, &s.md5, &s.sha256);
        Ok(Scanned::Deb(entry.to_string()))
    } else {
        Ok(Scanned::Rpm(Box::new(read_rpm(&f.path)?)))
    }
}

fn remove_stale(dir: &Path, names: &[&str]) -> Result<()> {
    for name in names {
        let path = dir.join(name);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => fs::remove_dir_all(&path),
            Ok(_) => fs::remove_file(&path),
            Err(_) => continue,
        }
        .with_context(|| format!("removing stale {}", path.display()))?;
    }
    Ok(())
}

fn write_apt(dir: &Path, debs: &mut [Paragraph], opts: &IndexOptions) -> Result<Vec<String>> {
    debs.sort_by(|a, b| {
        let f = |p: &Paragraph, n: &str| p.get(n).unwrap_or_default().to_string();
        f(a, "Package")
            .cmp(&f(b, "Package"))
            .then_with(|| version::compare(&f(a, "Version"), &f(b, "Version")))
            .then_with(|| f(a, "Architecture").cmp(&f(b, "Architecture")))
            .then_with(|| f(a, "Filename").cmp(&f(b, "Filename")))
    });
    let packages = write_packages(debs).into_bytes();
    let packages_gz = Compression::Gzip
        .compress(&packages)
        .context("compressing Packages")?;
    let arches: BTreeSet<&str> = debs
        .iter()
        .filter_map(|p| p.get("Architecture"))
        .filter(|a| *a != "all")
        .collect();
    let mut fields = Paragraph::new();
    fields.set("Origin", "pig");
    fields.set("Label", "pig");
    // Constant across bundle versions (apt warns when they change); needed
    // by mmdebstrap to pick the suite's Priority: required set.
    fields.set("Suite", "pigsty");
    fields.set("Codename", "pigsty");
    if !arches.is_empty() {
        fields.set(
            "Architectures",
            arches.into_iter().collect::<Vec<_>>().join(" "),
        );
    }
    let mut release = Release::for_files(
        fields,
        [
            ("Packages".to_string(), packages.clone()),
            ("Packages.gz".to_string(), packages_gz.clone()),
        ],
    );
    release.set_date(opts.date);
    let release_text = release.write(&[HashKind::Sha256]);

    let mut files: Vec<(&str, Vec<u8>)> = vec![
        ("Packages.gz", packages_gz),
        ("Packages", packages),
        ("Release", release_text.clone().into_bytes()),
    ];
    match &opts.key {
        Some(key) => {
            let time = signature_time(key, opts.date);
            files.push((
                "Release.gpg",
                key.sign_detached_armored(release_text.as_bytes(), time)?
                    .into_bytes(),
            ));
            files.push((
                "InRelease",
                key.clearsign(&release_text, time)?.into_bytes(),
            ));
        }
        None => remove_stale(dir, &["Release.gpg", "InRelease"])?,
    }
    for (name, bytes) in &files {
        write_atomic(&dir.join(name), bytes)?;
    }
    Ok(files.iter().map(|(n, _)| n.to_string()).collect())
}

fn write_rpm(
    dir: &Path,
    rpms: &mut [(&str, &RpmInfo)],
    opts: &IndexOptions,
) -> Result<Vec<String>> {
    rpms.sort_by_key(|(rel, _)| IndexKey::of(rel));
    let mut writer = RepodataWriter::create(dir, rpms.len(), opts.date)?;
    for (rel, info) in rpms.iter() {
        writer.add_rpm(info, rel)?;
    }
    let repomd = writer.finish()?;
    let mut written: Vec<String> = repomd
        .records
        .iter()
        .map(|r| r.location_href.clone())
        .collect();
    written.push("repodata/repomd.xml".to_string());
    match &opts.key {
        Some(key) => {
            let xml = fs::read(dir.join("repodata/repomd.xml")).context("reading repomd.xml")?;
            let sig = key.sign_detached_armored(&xml, signature_time(key, opts.date))?;
            write_atomic(&dir.join("repodata/repomd.xml.asc"), sig.as_bytes())?;
            written.push("repodata/repomd.xml.asc".to_string());
        }
        None => remove_stale(dir, &["repodata/repomd.xml.asc"])?,
    }
    Ok(written)
}

/// Signatures are dated at the index date for reproducibility, but never
/// before the key was made: verifiers refuse those.
fn signature_time(key: &SigningKey, date: i64) -> SystemTime {
    let date = UNIX_EPOCH + std::time::Duration::from_secs(date.max(0) as u64);
    date.max(key.created())
}
