//! Writing `repodata/`: the three package documents are streamed through
//! gzip into a staging directory beside the live one, hashed on the way
//! (compressed and open), named `<sha256>-<type>.xml.gz` and described in
//! `repomd.xml`; `finish` then swaps the staging directory in.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::GzBuilder;
use sha2::{Digest, Sha256};

use super::CHANGELOG_LIMIT;
use super::deps::indexed_dependencies;
use super::xml;
use crate::error::IoContext;
use crate::rpm::header::{Dependency, FileKind, RpmInfo, is_primary_file};
use crate::{Error, Result};

const STAGING: &str = "repodata.pig-new";
const RETIRED: &str = "repodata.pig-old";

/// The order packages appear in repodata: by the file name of their
/// location, then by the whole location, as createrepo_c orders the files
/// it finds. [`RepodataWriter::add_rpm`] requires this order, so the same
/// set of packages always gives the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IndexKey {
    pub file_name: String,
    pub location_href: String,
}

impl IndexKey {
    /// The key of a package at `location_href` (relative to the repo root).
    pub fn of(location_href: &str) -> IndexKey {
        let file_name = location_href
            .rsplit('/')
            .next()
            .unwrap_or(location_href)
            .to_string();
        IndexKey {
            file_name,
            location_href: location_href.to_string(),
        }
    }
}

/// One `<data>` entry of `repomd.xml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepomdRecord {
    /// `primary`, `filelists`, `other`, …
    pub kind: String,
    /// The hash of both checksums: `sha256` when pig writes, whatever the
    /// repository says when read.
    pub checksum_type: String,
    /// Hex digest of the file as stored (compressed).
    pub checksum: String,
    /// Hex digest of the decompressed document.
    pub open_checksum: Option<String>,
    /// Relative to the repository root, e.g. `repodata/<sha>-primary.xml.gz`.
    pub location_href: String,
    pub timestamp: i64,
    pub size: u64,
    pub open_size: Option<u64>,
}

/// The contents of `repomd.xml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repomd {
    pub revision: String,
    pub records: Vec<RepomdRecord>,
}

impl Repomd {
    /// The record of one document type.
    pub fn record(&self, kind: &str) -> Option<&RepomdRecord> {
        self.records.iter().find(|r| r.kind == kind)
    }

    /// `repomd.xml` exactly as createrepo_c formats it.
    pub fn to_xml(&self) -> String {
        let mut s = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\">\n  <revision>",
        );
        xml::text(&mut s, &self.revision);
        s.push_str("</revision>\n");
        for r in &self.records {
            s.push_str("  <data type=\"");
            xml::attr(&mut s, &r.kind);
            let _ = writeln!(
                s,
                "\">\n    <checksum type=\"{}\">{}</checksum>",
                r.checksum_type, r.checksum
            );
            if let Some(open) = &r.open_checksum {
                let _ = writeln!(
                    s,
                    "    <open-checksum type=\"{}\">{open}</open-checksum>",
                    r.checksum_type
                );
            }
            s.push_str("    <location href=\"");
            xml::attr(&mut s, &r.location_href);
            let _ = writeln!(
                s,
                "\"/>\n    <timestamp>{}</timestamp>\n    <size>{}</size>",
                r.timestamp, r.size
            );
            if let Some(open) = r.open_size {
                let _ = writeln!(s, "    <open-size>{open}</open-size>");
            }
            s.push_str("  </data>\n");
        }
        s.push_str("</repomd>\n");
        s
    }
}

/// Writes `repodata/` for a repository of `.rpm` files, one package at a
/// time, never holding more than one package's XML in memory.
///
/// Packages must be added in [`IndexKey`] order. Nothing in the live
/// `repodata/` changes until [`finish`](Self::finish); dropping the writer
/// unfinished removes its staging directory.
pub struct RepodataWriter {
    repo_dir: PathBuf,
    staging: PathBuf,
    expected: usize,
    added: usize,
    timestamp: i64,
    last_key: Option<IndexKey>,
    primary: XmlStream,
    filelists: XmlStream,
    other: XmlStream,
    scratch: String,
    finished: bool,
}

impl RepodataWriter {
    /// Start writing metadata for exactly `count` packages (the documents
    /// declare their package count up front). `timestamp` becomes every
    /// record's timestamp and the revision (use `SOURCE_DATE_EPOCH`).
    pub fn create(repo_dir: &Path, count: usize, timestamp: i64) -> Result<RepodataWriter> {
        let staging = repo_dir.join(STAGING);
        if staging.exists() {
            fs::remove_dir_all(&staging).at(&staging)?;
        }
        fs::create_dir_all(&staging).at(&staging)?;
        let open = |kind: &'static str, head: String| XmlStream::create(&staging, kind, &head);
        let header = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
        let primary = open(
            "primary",
            format!(
                "{header}<metadata xmlns=\"http://linux.duke.edu/metadata/common\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"{count}\">\n"
            ),
        )?;
        let filelists = open(
            "filelists",
            format!(
                "{header}<filelists xmlns=\"http://linux.duke.edu/metadata/filelists\" packages=\"{count}\">\n"
            ),
        )?;
        let other = open(
            "other",
            format!(
                "{header}<otherdata xmlns=\"http://linux.duke.edu/metadata/other\" packages=\"{count}\">\n"
            ),
        )?;
        Ok(RepodataWriter {
            repo_dir: repo_dir.to_path_buf(),
            staging,
            expected: count,
            added: 0,
            timestamp,
            last_key: None,
            primary,
            filelists,
            other,
            scratch: String::new(),
            finished: false,
        })
    }

    /// Add one package found at `location_href` (relative to the repo root).
    pub fn add_rpm(&mut self, info: &RpmInfo, location_href: &str) -> Result<()> {
        let key = IndexKey::of(location_href);
        if let Some(last) = &self.last_key
            && *last >= key
        {
            return Err(Error::invalid(
                self.staging.join("primary.xml.gz").display(),
                format!("package[{}]", self.added + 1),
                format!(
                    "{location_href} added after {}: packages must be added once each, in IndexKey order",
                    last.location_href
                ),
            ));
        }
        if self.added == self.expected {
            return Err(Error::invalid(
                self.staging.display(),
                format!("package[{}]", self.added + 1),
                format!("more packages than the {} announced", self.expected),
            ));
        }

        self.scratch.clear();
        primary_package(&mut self.scratch, info, location_href);
        self.primary.write(self.scratch.as_bytes())?;
        self.scratch.clear();
        filelists_package(&mut self.scratch, info);
        self.filelists.write(self.scratch.as_bytes())?;
        self.scratch.clear();
        other_package(&mut self.scratch, info);
        self.other.write(self.scratch.as_bytes())?;

        self.added += 1;
        self.last_key = Some(key);
        Ok(())
    }

    /// Close the documents, write `repomd.xml` and swap the new `repodata/`
    /// in place of the old one.
    pub fn finish(mut self) -> Result<Repomd> {
        if self.added != self.expected {
            return Err(Error::invalid(
                self.staging.display(),
                "packages",
                format!("{} packages announced, {} added", self.expected, self.added),
            ));
        }
        let mut records = Vec::new();
        for stream in [&mut self.primary, &mut self.filelists, &mut self.other] {
            records.push(stream.finish(self.timestamp)?);
        }
        let repomd = Repomd {
            revision: self.timestamp.to_string(),
            records,
        };
        let repomd_path = self.staging.join("repomd.xml");
        fs::write(&repomd_path, repomd.to_xml()).at(&repomd_path)?;
        sync_dir(&self.staging)?;

        let live = self.repo_dir.join("repodata");
        let retired = self.repo_dir.join(RETIRED);
        if retired.exists() {
            fs::remove_dir_all(&retired).at(&retired)?;
        }
        let had_live = live.exists();
        if had_live {
            fs::rename(&live, &retired).at(&live)?;
        }
        fs::rename(&self.staging, &live).at(&live)?;
        self.finished = true;
        sync_dir(&self.repo_dir)?;
        if had_live {
            fs::remove_dir_all(&retired).at(&retired)?;
        }
        Ok(repomd)
    }
}

impl Drop for RepodataWriter {
    fn drop(&mut self) {
        if !self.finished {
            // Best effort: an unfinished staging directory is never used.
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).at(dir)
}

/// A writer that hashes and counts what passes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        let done = buf.get(..n).unwrap_or_default();
        self.hasher.update(done);
        self.size += done.len() as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// One document: open bytes are hashed, gzipped, and the gzip stream hashed
/// again on its way to disk.
struct XmlStream {
    kind: &'static str,
    path: PathBuf,
    open: Option<Hashing<flate2::write::GzEncoder<Hashing<BufWriter<File>>>>>,
}

impl XmlStream {
    fn create(dir: &Path, kind: &'static str, head: &str) -> Result<XmlStream> {
        let path = dir.join(format!("{kind}.xml.gz"));
        let file = File::create(&path).at(&path)?;
        let packed = Hashing {
            inner: BufWriter::with_capacity(256 * 1024, file),
            hasher: Sha256::new(),
            size: 0,
        };
        // No name and mtime 0 in the gzip header: same input, same bytes.
        let gz = GzBuilder::new()
            .mtime(0)
            .write(packed, flate2::Compression::default());
        let mut s = XmlStream {
            kind,
            path,
            open: Some(Hashing {
                inner: gz,
                hasher: Sha256::new(),
                size: 0,
            }),
        };
        s.write(head.as_bytes())?;
        Ok(s)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        match &mut self.open {
            Some(w) => w.write_all(bytes).at(&self.path),
            None => Err(Error::invalid(
                self.path.display(),
                self.kind,
                "already closed",
            )),
        }
    }

    fn finish(&mut self, timestamp: i64) -> Result<RepomdRecord> {
        let footer: &[u8] = match self.kind {
            "primary" => b"</metadata>",
            "filelists" => b"</filelists>",
            _ => b"</otherdata>",
        };
        self.write(footer)?;
        let open = self
            .open
            .take()
            .ok_or_else(|| Error::invalid(self.path.display(), self.kind, "already closed"))?;
        let open_checksum = hex::encode(open.hasher.finalize());
        let open_size = open.size;
        let mut packed = open.inner.finish().at(&self.path)?;
        packed.flush().at(&self.path)?;
        let checksum = hex::encode(packed.hasher.finalize());
        let size = packed.size;
        let file = packed
            .inner
            .into_inner()
            .map_err(|e| Error::io(&self.path, e.into_error()))?;
        file.sync_all().at(&self.path)?;
        drop(file);
        let name = format!("{checksum}-{}.xml.gz", self.kind);
        let final_path = self.path.with_file_name(&name);
        fs::rename(&self.path, &final_path).at(&final_path)?;
        Ok(RepomdRecord {
            kind: self.kind.to_string(),
            checksum_type: "sha256".to_string(),
            checksum,
            open_checksum: Some(open_checksum),
            location_href: format!("repodata/{name}"),
            timestamp,
            size,
            open_size: Some(open_size),
        })
    }
}

fn text_element(s: &mut String, indent: &str, name: &str, value: &str) {
    s.push_str(indent);
    s.push('<');
    s.push_str(name);
    s.push('>');
    xml::text(s, value);
    s.push_str("</");
    s.push_str(name);
    s.push_str(">\n");
}

fn attribute(s: &mut String, name: &str, value: &str) {
    s.push(' ');
    s.push_str(name);
    s.push_str("=\"");
    xml::attr(s, value);
    s.push('"');
}

fn version_element(s: &mut String, info: &RpmInfo) {
    s.push_str("  <version");
    attribute(s, "epoch", &info.epoch.unwrap_or(0).to_string());
    attribute(s, "ver", &info.version);
    attribute(s, "rel", &info.release);
    s.push_str("/>\n");
}

fn primary_package(s: &mut String, info: &RpmInfo, location_href: &str) {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    s.push_str("<package type=\"rpm\">\n");
    text_element(s, "  ", "name", &info.name);
    text_element(s, "  ", "arch", &info.arch);
    version_element(s, info);
    let _ = writeln!(
        s,
        "  <checksum type=\"sha256\" pkgid=\"YES\">{}</checksum>",
        info.pkgid
    );
    text_element(s, "  ", "summary", &info.summary);
    text_element(s, "  ", "description", &info.description);
    text_element(s, "  ", "packager", &opt(&info.packager));
    text_element(s, "  ", "url", &opt(&info.url));
    // createrepo_c records the file's mtime; pig records the build time so
    // the same packages give the same metadata wherever they were fetched.
    let _ = writeln!(
        s,
        "  <time file=\"{0}\" build=\"{0}\"/>\n  <size package=\"{1}\" installed=\"{2}\" archive=\"{3}\"/>",
        info.build_time, info.file_size, info.installed_size, info.archive_size
    );
    s.push_str("  <location");
    attribute(s, "href", location_href);
    s.push_str("/>\n  <format>\n");
    text_element(s, "    ", "rpm:license", &opt(&info.license));
    text_element(s, "    ", "rpm:vendor", &opt(&info.vendor));
    text_element(s, "    ", "rpm:group", &opt(&info.group));
    text_element(s, "    ", "rpm:buildhost", &opt(&info.buildhost));
    text_element(s, "    ", "rpm:sourcerpm", &opt(&info.sourcerpm));
    let _ = writeln!(
        s,
        "    <rpm:header-range start=\"{}\" end=\"{}\"/>",
        info.header_range.0, info.header_range.1
    );
    let deps = indexed_dependencies(info);
    for (name, list) in [
        ("provides", &deps.provides),
        ("requires", &deps.requires),
        ("conflicts", &deps.conflicts),
        ("obsoletes", &deps.obsoletes),
        ("suggests", &deps.suggests),
        ("enhances", &deps.enhances),
        ("recommends", &deps.recommends),
        ("supplements", &deps.supplements),
    ] {
        dependency_list(s, name, list, name == "requires");
    }
    for f in &info.files {
        if is_primary_file(&f.path) {
            file_element(s, "    ", &f.path, f.kind);
        }
    }
    s.push_str("  </format>\n</package>\n");
}

fn dependency_list(s: &mut String, name: &str, list: &[Dependency], with_pre: bool) {
    let list: Vec<&Dependency> = list.iter().filter(|d| !d.name.is_empty()).collect();
    if list.is_empty() {
        return;
    }
    let _ = writeln!(s, "    <rpm:{name}>");
    for d in list {
        s.push_str("      <rpm:entry");
        attribute(s, "name", &d.name);
        if let Some(op) = d.op {
            attribute(s, "flags", op.repodata_flag());
            if let Some(evr) = &d.evr {
                attribute(s, "epoch", &evr.epoch.unwrap_or(0).to_string());
                if !evr.version.is_empty() {
                    attribute(s, "ver", &evr.version);
                }
                if let Some(rel) = evr.release.as_deref().filter(|r| !r.is_empty()) {
                    attribute(s, "rel", rel);
                }
            }
        }
        if with_pre && d.pre {
            s.push_str(" pre=\"1\"");
        }
        s.push_str("/>\n");
    }
    let _ = writeln!(s, "    </rpm:{name}>");
}

fn file_element(s: &mut String, indent: &str, path: &str, kind: FileKind) {
    s.push_str(indent);
    s.push_str(match kind {
        FileKind::File => "<file>",
        FileKind::Dir => "<file type=\"dir\">",
        FileKind::Ghost => "<file type=\"ghost\">",
    });
    xml::text(s, path);
    s.push_str("</file>\n");
}

fn package_open(s: &mut String, info: &RpmInfo) {
    s.push_str("<package");
    attribute(s, "pkgid", &info.pkgid);
    attribute(s, "name", &info.name);
    attribute(s, "arch", &info.arch);
    s.push_str(">\n");
    version_element(s, info);
}

fn filelists_package(s: &mut String, info: &RpmInfo) {
    package_open(s, info);
    for f in &info.files {
        file_element(s, "  ", &f.path, f.kind);
    }
    s.push_str("</package>\n");
}

fn other_package(s: &mut String, info: &RpmInfo) {
    package_open(s, info);
    // createrepo_c keeps the newest CHANGELOG_LIMIT entries, lists them
    // oldest first, and nudges equal dates apart (later entries get +1 s).
    let mut entries: Vec<(String, u64, &str)> = Vec::new();
    let mut last_time = 0;
    for c in info.changelogs.iter().take(CHANGELOG_LIMIT) {
        let author = match c.author.char_indices().next() {
            Some((_, first)) => {
                let rest = c.author[first.len_utf8()..].trim_end_matches(' ');
                format!("{first}{rest}")
            }
            None => String::new(),
        };
        entries.insert(0, (author, c.date, c.text.as_str()));
        if last_time == c.date {
            for (t, prev) in (c.date..).zip(entries.iter_mut().skip(1)) {
                if prev.1 != t {
                    break;
                }
                prev.1 += 1;
            }
        } else {
            last_time = c.date;
        }
    }
    for (author, date, text) in entries {
        s.push_str("  <changelog");
        attribute(s, "author", &author);
        let _ = write!(s, " date=\"{date}\">");
        xml::text(s, text);
        s.push_str("</changelog>\n");
    }
    s.push_str("</package>\n");
}
