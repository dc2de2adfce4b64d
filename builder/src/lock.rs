//! Lock files: the exact packages a bundle is built from.
//!
//! `resolve` writes a lock; `bundle --locked` rebuilds from it. The file is
//! JSON with the header fields pretty-printed and one package per line,
//! sorted by name, arch and version, so a version bump is a one-line diff and
//! the same resolution always gives the same bytes.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// Version of the lock file format this code reads and writes.
pub const LOCK_FORMAT: u32 = 1;

/// A resolved package set for one OS and architecture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// File format version, [`LOCK_FORMAT`].
    pub format: u32,
    /// Target OS code (`d12`, `el9`), as in the recipe.
    pub os: String,
    /// Target architecture (`x86_64`), as in the recipe.
    pub arch: String,
    /// Module → the package names the recipe asked for in it (the bundle's
    /// manifest and its per-module install check use them).
    #[serde(default)]
    pub modules: BTreeMap<String, Vec<String>>,
    /// Names the recipe asked for that no reachable upstream had.
    #[serde(default)]
    pub missing: Vec<String>,
    /// The packages, sorted by name, arch and version.
    pub packages: Vec<LockedPackage>,
}

/// One pinned package file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedPackage {
    /// Package name.
    pub name: String,
    /// Full version (`epoch:upstream-revision` or `epoch:version-release`).
    pub version: String,
    /// Package architecture (`amd64`, `all`, `x86_64`, `noarch`).
    pub arch: String,
    /// Path of the file relative to its repository root, as the index gives it.
    pub filename: String,
    /// File size in bytes.
    pub size: u64,
    /// Lowercase hex SHA-256 of the file.
    pub sha256: String,
    /// Name of the recipe upstream it comes from.
    pub origin: String,
    /// Modules and `ext:<category>` sets that pulled it in (empty for pure
    /// dependencies).
    #[serde(default)]
    pub modules: Vec<String>,
}

/// The versions of one name and arch in the old and the new lock.
type OldAndNew<'a> = (Vec<&'a LockedPackage>, Vec<&'a LockedPackage>);

impl LockedPackage {
    fn sort_key(&self) -> (&str, &str, &str) {
        (&self.name, &self.arch, &self.version)
    }
}

/// What changed between two locks, old → new.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LockDiff {
    /// In the new lock only.
    pub added: Vec<LockedPackage>,
    /// In the old lock only.
    pub removed: Vec<LockedPackage>,
    /// Same name and arch, newer version: (old, new).
    pub upgraded: Vec<(LockedPackage, LockedPackage)>,
    /// Same name and arch, older version: (old, new).
    pub downgraded: Vec<(LockedPackage, LockedPackage)>,
    /// Same name, arch and version but different bytes: (old, new). Upstream
    /// rebuilt a file in place, which a reproducible build must notice.
    pub changed: Vec<(LockedPackage, LockedPackage)>,
}

impl Lock {
    /// A lock for `os`/`arch` holding `packages`, sorted.
    pub fn new(os: &str, arch: &str, packages: Vec<LockedPackage>) -> Lock {
        let mut lock = Lock {
            format: LOCK_FORMAT,
            os: os.to_string(),
            arch: arch.to_string(),
            modules: BTreeMap::new(),
            missing: Vec::new(),
            packages,
        };
        lock.sort();
        lock
    }

    /// Sort packages by name, arch and version (byte order: stable without a
    /// version comparator) and each package's module list.
    pub fn sort(&mut self) {
        for names in self.modules.values_mut() {
            names.sort();
            names.dedup();
        }
        self.missing.sort();
        self.missing.dedup();
        for p in &mut self.packages {
            p.modules.sort();
            p.modules.dedup();
        }
        self.packages
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    }

    /// Read and check a lock file.
    pub fn load(path: &Path) -> Result<Lock> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading lock {}", path.display()))?;
        Lock::parse(&text, &path.display().to_string())
    }

    /// Parse and check lock text; `input` names it in errors.
    pub fn parse(text: &str, input: &str) -> Result<Lock> {
        let mut lock: Lock = serde_json::from_str(text).map_err(|e| {
            let message = e.to_string();
            let message = message
                .rsplit_once(" at line ")
                .map_or(message.as_str(), |(m, _)| m);
            anyhow::anyhow!("{input}:{}:{}: {message}", e.line(), e.column())
        })?;
        if lock.format != LOCK_FORMAT {
            bail!(
                "{input}: lock format {} is not supported (this pig reads {LOCK_FORMAT})",
                lock.format
            );
        }
        for (i, p) in lock.packages.iter().enumerate() {
            check_package(p)
                .map_err(|e| anyhow::anyhow!("{input}: packages[{i}] ({}): {e}", p.name))?;
        }
        lock.sort();
        if let Some(w) = lock
            .packages
            .windows(2)
            .find(|w| w[0].sort_key() == w[1].sort_key())
        {
            bail!(
                "{input}: {} {} {} is locked twice",
                w[0].name,
                w[0].version,
                w[0].arch
            );
        }
        Ok(lock)
    }

    /// The file text: header pretty-printed, one sorted package per line.
    pub fn to_text(&self) -> Result<String> {
        let mut sorted = self.clone();
        sorted.sort();
        let mut out = String::from("{\n");
        out.push_str(&format!("  \"format\": {},\n", sorted.format));
        out.push_str(&format!(
            "  \"os\": {},\n",
            serde_json::to_string(&sorted.os)?
        ));
        out.push_str(&format!(
            "  \"arch\": {},\n",
            serde_json::to_string(&sorted.arch)?
        ));
        out.push_str("  \"modules\": {");
        for (i, (module, names)) in sorted.modules.iter().enumerate() {
            out.push_str(if i == 0 { "\n    " } else { ",\n    " });
            out.push_str(&format!(
                "{}: {}",
                serde_json::to_string(module)?,
                serde_json::to_string(names)?
            ));
        }
        out.push_str(if sorted.modules.is_empty() {
            "},\n"
        } else {
            "\n  },\n"
        });
        out.push_str(&format!(
            "  \"missing\": {},\n",
            serde_json::to_string(&sorted.missing)?
        ));
        out.push_str("  \"packages\": [");
        for (i, p) in sorted.packages.iter().enumerate() {
            out.push_str(if i == 0 { "\n    " } else { ",\n    " });
            out.push_str(&serde_json::to_string(p)?);
        }
        out.push_str(if sorted.packages.is_empty() {
            "]\n}\n"
        } else {
            "\n  ]\n}\n"
        });
        Ok(out)
    }

    /// Write the lock atomically: a temporary file in the same directory,
    /// synced, then renamed over `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        pig_repo::atomic::write_file(path, self.to_text()?.as_bytes())?;
        Ok(())
    }

    /// Changes from `self` (old) to `new`, comparing versions with `cmp`
    /// (the Debian or RPM rules, which differ). Packages are matched by name
    /// and arch; when either side holds several versions of one name and arch
    /// they are matched by exact version.
    pub fn diff(&self, new: &Lock, cmp: fn(&str, &str) -> Ordering) -> LockDiff {
        let mut groups: BTreeMap<(&str, &str), OldAndNew> = BTreeMap::new();
        for p in &self.packages {
            groups.entry((&p.name, &p.arch)).or_default().0.push(p);
        }
        for p in &new.packages {
            groups.entry((&p.name, &p.arch)).or_default().1.push(p);
        }
        let mut diff = LockDiff::default();
        for (old, new) in groups.into_values() {
            if let ([o], [n]) = (old.as_slice(), new.as_slice()) {
                let pair = ((*o).clone(), (*n).clone());
                match cmp(&o.version, &n.version) {
                    Ordering::Less => diff.upgraded.push(pair),
                    Ordering::Greater => diff.downgraded.push(pair),
                    Ordering::Equal if o.sha256 != n.sha256 || o.size != n.size => {
                        diff.changed.push(pair)
                    }
                    Ordering::Equal => {}
                }
                continue;
            }
            for o in &old {
                match new
                    .iter()
                    .find(|n| cmp(&o.version, &n.version) == Ordering::Equal)
                {
                    Some(n) if n.sha256 != o.sha256 || n.size != o.size => {
                        diff.changed.push(((*o).clone(), (*n).clone()));
                    }
                    Some(_) => {}
                    None => diff.removed.push((*o).clone()),
                }
            }
            for n in &new {
                if !old
                    .iter()
                    .any(|o| cmp(&o.version, &n.version) == Ordering::Equal)
                {
                    diff.added.push((*n).clone());
                }
            }
        }
        diff
    }
}

impl LockDiff {
    /// True when the two locks pin the same files.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.upgraded.is_empty()
            && self.downgraded.is_empty()
            && self.changed.is_empty()
    }
}

/// One line per change (`+`, `-`, `^` upgrade, `v` downgrade, `!` same
/// version with different bytes), then a summary line.
impl fmt::Display for LockDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.added {
            writeln!(f, "+ {} {} {}", p.name, p.arch, p.version)?;
        }
        for p in &self.removed {
            writeln!(f, "- {} {} {}", p.name, p.arch, p.version)?;
        }
        for (o, n) in &self.upgraded {
            writeln!(f, "^ {} {} {} -> {}", o.name, o.arch, o.version, n.version)?;
        }
        for (o, n) in &self.downgraded {
            writeln!(f, "v {} {} {} -> {}", o.name, o.arch, o.version, n.version)?;
        }
        for (o, n) in &self.changed {
            writeln!(
                f,
                "! {} {} {} sha256 {} -> {}",
                o.name, o.arch, o.version, o.sha256, n.sha256
            )?;
        }
        write!(
            f,
            "{} added, {} removed, {} upgraded, {} downgraded, {} changed",
            self.added.len(),
            self.removed.len(),
            self.upgraded.len(),
            self.downgraded.len(),
            self.changed.len()
        )
    }
}

fn check_package(p: &LockedPackage) -> Result<()> {
    for (field, value) in [
        ("name", &p.name),
        ("version", &p.version),
        ("arch", &p.arch),
        ("origin", &p.origin),
    ] {
        if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            bail!("{field} {value:?} is empty or has spaces");
        }
    }
    if p.filename.is_empty()
        || p.filename.starts_with('/')
        || p.filename.split('/').any(|c| c == ".." || c.is_empty())
    {
        bail!(
            "filename {:?} must be a relative path without '..'",
            p.filename
        );
    }
    if p.sha256.len() != 64
        || !p
            .sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        bail!("sha256 {:?} is not 64 lowercase hex digits", p.sha256);
    }
    Ok(())
}

/// The version order of a lock's packages: RPM's for EL, Debian's otherwise.
pub fn version_order(os: &str) -> fn(&str, &str) -> Ordering {
    if os.starts_with("el") {
        |a, b| {
            use pig_repo::rpm::version::{Evr, rpmvercmp};
            match (Evr::parse(a), Evr::parse(b)) {
                (Ok(a), Ok(b)) => a.compare(&b),
                _ => rpmvercmp(a, b),
            }
        }
    } else {
        pig_repo::deb::version::compare
    }
}

/// `pig-build diff OLD NEW`: exit 0 whether or not they differ.
pub fn run_diff(args: &crate::cmdline::DiffArgs) -> Result<()> {
    let old = Lock::load(&args.old)?;
    let new = Lock::load(&args.new)?;
    if old.os != new.os || old.arch != new.arch {
        bail!(
            "{} is for {}/{} but {} is for {}/{}",
            args.old.display(),
            old.os,
            old.arch,
            args.new.display(),
            new.os,
            new.arch
        );
    }
    let diff = old.diff(&new, version_order(&old.os));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&diff)?);
    } else {
        println!("{diff}");
    }
    Ok(())
}
