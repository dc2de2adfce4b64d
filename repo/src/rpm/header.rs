//! `.rpm` files: reading the headers an index needs (hashing the whole file
//! in the same pass) and writing the simple packages pig ships itself.
//!
//! Reading never trusts the file: the lead and both header sections are
//! bounds-checked here before the `rpm` crate sees them, and the payload is
//! checked against the header's payload digest, so a truncated or damaged
//! file is an error naming the file and the part that is wrong.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use rpm::{IndexSignatureTag, IndexTag, PackageMetadata};
use sha2::{Digest, Sha256};

use super::version::{Evr, Op};
use crate::error::IoContext;
use crate::{Error, Result};

/// Everything about one `.rpm` that repository metadata records.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct RpmInfo {
    pub name: String,
    /// `None` when the header has no epoch tag (which means 0).
    pub epoch: Option<u32>,
    pub version: String,
    pub release: String,
    /// `src` for source packages, as createrepo_c reports them.
    pub arch: String,
    pub summary: String,
    pub description: String,
    pub url: Option<String>,
    pub license: Option<String>,
    pub vendor: Option<String>,
    pub group: Option<String>,
    pub buildhost: Option<String>,
    pub sourcerpm: Option<String>,
    pub packager: Option<String>,
    pub build_time: u64,
    pub installed_size: u64,
    pub archive_size: u64,
    /// Byte offsets of the main header: start after the signature header and
    /// its padding, end where the payload begins (createrepo_c's
    /// `rpm:header-range`).
    pub header_range: (u64, u64),
    /// Dependencies in header order, unfiltered (repodata writers apply
    /// createrepo_c's filtering themselves).
    pub provides: Vec<Dependency>,
    pub requires: Vec<Dependency>,
    pub conflicts: Vec<Dependency>,
    pub obsoletes: Vec<Dependency>,
    pub recommends: Vec<Dependency>,
    pub suggests: Vec<Dependency>,
    pub supplements: Vec<Dependency>,
    pub enhances: Vec<Dependency>,
    pub files: Vec<RpmFile>,
    /// Changelog entries in header order (newest first).
    pub changelogs: Vec<Changelog>,
    /// Size of the whole `.rpm` file in bytes.
    pub file_size: u64,
    /// Hex SHA-256 of the whole file: the repodata `pkgid`.
    pub pkgid: String,
}

impl RpmInfo {
    /// The package's own `[epoch:]version-release`.
    pub fn evr(&self) -> Evr {
        Evr::new(self.epoch, &self.version, Some(self.release.clone()))
    }

    /// `name-[epoch:]version-release.arch`.
    pub fn nevra(&self) -> String {
        format!("{}-{}.{}", self.name, self.evr(), self.arch)
    }
}

/// One dependency (provide, require, …) of a package.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Dependency {
    pub name: String,
    /// The raw rpm sense flags (`RPMSENSE_*`).
    pub flags: u32,
    /// The comparison, `None` for an unversioned dependency.
    pub op: Option<Op>,
    /// The version compared against; present whenever the header carries a
    /// version string, split as createrepo_c splits it (epoch before `:`,
    /// release after the first `-`).
    pub evr: Option<Evr>,
    /// Needed before install scripts run (`Requires(pre)`, `(post)`, or the
    /// legacy `PreReq`): createrepo_c's `pre="1"`.
    pub pre: bool,
}

const SENSE_PREREQ: u32 = 1 << 6;
const SENSE_SCRIPT_PRE: u32 = 1 << 9;
const SENSE_SCRIPT_POST: u32 = 1 << 10;
/// Legacy weak dependency: a `Requires` with this bit is a `Recommends`.
pub const SENSE_MISSINGOK: u32 = 1 << 19;

impl Dependency {
    /// An unversioned dependency on `name`.
    pub fn any(name: impl Into<String>) -> Dependency {
        Dependency {
            name: name.into(),
            flags: 0,
            op: None,
            evr: None,
            pre: false,
        }
    }

    /// A versioned dependency `name op evr`.
    pub fn versioned(name: impl Into<String>, op: Op, evr: Evr) -> Dependency {
        Dependency {
            name: name.into(),
            flags: op.to_flags(),
            op: Some(op),
            evr: Some(evr),
            pre: false,
        }
    }

    /// From the raw header triple. `None` when the version has an epoch
    /// that is not a number (createrepo_c skips such dependencies too).
    fn from_header(name: &str, flags: u32, version: &str) -> Option<Dependency> {
        let evr = if version.is_empty() {
            None
        } else {
            Some(split_dependency_evr(version)?)
        };
        Some(Dependency {
            name: name.to_string(),
            flags,
            op: Op::from_flags(flags),
            evr,
            pre: flags & (SENSE_PREREQ | SENSE_SCRIPT_PRE | SENSE_SCRIPT_POST) != 0,
        })
    }
}

/// createrepo_c's `cr_str_to_evr`: the epoch is what precedes the first `:`
/// (it must be all digits), the release what follows the first `-` after it.
fn split_dependency_evr(s: &str) -> Option<Evr> {
    let (epoch, rest) = match s.split_once(':') {
        Some((e, rest)) => {
            if e.is_empty() {
                (None, rest)
            } else {
                (Some(e.parse::<u32>().ok()?), rest)
            }
        }
        None => (None, s),
    };
    let (version, release) = match rest.split_once('-') {
        Some((v, r)) => (v, Some(r.to_string())),
        None => (rest, None),
    };
    Some(Evr::new(epoch, version, release))
}

/// The kind of a packaged path, as filelists records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum FileKind {
    File,
    Dir,
    Ghost,
}

/// One path owned by a package.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct RpmFile {
    pub path: String,
    pub kind: FileKind,
}

/// One `%changelog` entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Changelog {
    pub author: String,
    pub date: u64,
    pub text: String,
}

/// createrepo_c's rule for files listed in `primary.xml` (the rest go only
/// to `filelists.xml`): anything under `/etc/`, any path containing `bin/`,
/// and `/usr/lib/sendmail`.
pub fn is_primary_file(path: &str) -> bool {
    path.starts_with("/etc/") || path.contains("bin/") || path == "/usr/lib/sendmail"
}

/// Read an `.rpm`'s headers and hash the whole file in one pass.
pub fn read_rpm(path: &Path) -> Result<RpmInfo> {
    let file = File::open(path).at(path)?;
    read_rpm_from(file, &path.display().to_string())
}

const LEAD_SIZE: usize = 96;
const HEADER_MAGIC: [u8; 4] = [0x8e, 0xad, 0xe8, 0x01];
/// rpm's own limits (`HEADER_TAGS_MAX`, `HEADER_DATA_MAX`): anything larger
/// is garbage, and checking first keeps us from allocating gigabytes.
const MAX_INDEX_ENTRIES: u32 = 0xffff;
const MAX_DATA_SIZE: u32 = 256 * 1024 * 1024;

/// Read an `.rpm` from a stream; `input` names it in errors.
pub fn read_rpm_from(r: impl Read, input: &str) -> Result<RpmInfo> {
    let mut reader = BufReader::with_capacity(64 * 1024, HashingReader::new(r));
    let mut raw = vec![0u8; LEAD_SIZE];
    read_part(&mut reader, &mut raw, input, "lead")?;
    if raw.get(..4) != Some(&[0xed, 0xab, 0xee, 0xdb][..]) {
        return Err(Error::invalid(input, "lead", "not an rpm file (bad magic)"));
    }
    let sig_len = read_header_section(&mut reader, &mut raw, input, "signature header")?;
    let padding = (8 - sig_len % 8) % 8;
    let mut pad = vec![0u8; padding];
    read_part(&mut reader, &mut pad, input, "signature header padding")?;
    raw.extend_from_slice(&pad);
    let header_start = raw.len() as u64;
    read_header_section(&mut reader, &mut raw, input, "header")?;
    let header_end = raw.len() as u64;

    let meta = PackageMetadata::parse(&mut io::Cursor::new(&raw))
        .map_err(|e| Error::invalid(input, "header", e))?;
    let mut info = info_from_metadata(&meta, input)?;
    info.header_range = (header_start, header_end);

    // Hash the payload as it streams past, to check it against the header.
    let mut payload_hash = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(input, e)),
        };
        payload_hash.update(&buf[..n]);
    }
    // The payload digest is SHA-256 (rpm's PGPHASHALGO 8) in every rpm that
    // writes one; any other declared algorithm is left unchecked.
    const PGPHASHALGO_SHA256: u32 = 8;
    let algo = meta
        .header
        .get_entry_data_as_u32(IndexTag::RPMTAG_PAYLOADSHA256ALGO)
        .unwrap_or(PGPHASHALGO_SHA256);
    if algo == PGPHASHALGO_SHA256
        && let Ok(want) = meta
            .header
            .get_entry_data_as_string_array(IndexTag::RPMTAG_PAYLOADSHA256)
        && let Some(want) = want.first()
    {
        let got = hex::encode(payload_hash.finalize());
        if !want.eq_ignore_ascii_case(&got) {
            return Err(Error::invalid(
                input,
                "payload",
                format!("sha256 {got} does not match the header's {want} (truncated or damaged)"),
            ));
        }
    }
    let hashing = reader.into_inner();
    info.file_size = hashing.count;
    info.pkgid = hex::encode(hashing.hasher.finalize());
    Ok(info)
}

fn read_part(r: &mut impl Read, buf: &mut [u8], input: &str, place: &str) -> Result<()> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Error::invalid(input, place, "file ends early (truncated)")
        } else {
            Error::io(input, e)
        }
    })
}

/// Read one header section (intro, index, data) into `raw` after checking
/// its sizes and every index entry's bounds; returns its length.
fn read_header_section(
    r: &mut impl Read,
    raw: &mut Vec<u8>,
    input: &str,
    place: &str,
) -> Result<usize> {
    let mut intro = [0u8; 16];
    read_part(r, &mut intro, input, place)?;
    if intro[..4] != HEADER_MAGIC {
        return Err(Error::invalid(input, place, "bad header magic"));
    }
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let entries = be32(&intro[8..12]);
    let data_size = be32(&intro[12..16]);
    if entries == 0 || entries > MAX_INDEX_ENTRIES || data_size > MAX_DATA_SIZE {
        return Err(Error::invalid(
            input,
            place,
            format!("implausible size: {entries} index entries, {data_size} bytes of data"),
        ));
    }
    let index_len = entries as usize * 16;
    let mut rest = vec![0u8; index_len + data_size as usize];
    read_part(r, &mut rest, input, place)?;
    for (i, entry) in rest[..index_len].chunks_exact(16).enumerate() {
        let (kind, offset, count) = (
            be32(&entry[4..8]),
            be32(&entry[8..12]),
            be32(&entry[12..16]),
        );
        // Bytes per item; strings take at least their terminating NUL, so a
        // count larger than the store is garbage (and would make the rpm
        // crate reserve gigabytes).
        let width: u64 = match kind {
            0 => 0,
            1 | 2 | 6..=9 => 1,
            3 => 2,
            4 => 4,
            5 => 8,
            _ => {
                return Err(Error::invalid(
                    input,
                    format!("{place}/entry[{i}]"),
                    format!("unknown data type {kind}"),
                ));
            }
        };
        let offset = i32::from_be_bytes(offset.to_be_bytes());
        let end = u64::try_from(offset)
            .ok()
            .map(|o| o + width * u64::from(count));
        let fits = matches!(end, Some(end) if end <= u64::from(data_size))
            && i64::from(offset) < i64::from(data_size).max(1);
        if !fits {
            return Err(Error::invalid(
                input,
                format!("{place}/entry[{i}]"),
                format!(
                    "data at offset {offset} (count {count}) lies outside the {data_size}-byte store"
                ),
            ));
        }
    }
    let start = raw.len();
    raw.extend_from_slice(&intro);
    raw.extend_from_slice(&rest);
    Ok(raw.len() - start)
}

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R> HashingReader<R> {
    fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let read = buf.get(..n).unwrap_or_default();
        self.hasher.update(read);
        self.count += read.len() as u64;
        Ok(n)
    }
}

fn info_from_metadata(meta: &PackageMetadata, input: &str) -> Result<RpmInfo> {
    let h = &meta.header;
    let bad = |tag: &str, e: rpm::Error| Error::invalid(input, format!("header/{tag}"), e);
    let required = |tag: IndexTag, name: &str| -> Result<String> {
        h.get_entry_data_as_string(tag)
            .map(str::to_string)
            .map_err(|e| bad(name, e))
    };
    let optional = |tag: IndexTag, name: &str| -> Result<Option<String>> {
        match h.get_entry_data_as_string(tag) {
            Ok(s) => Ok(Some(s.to_string())),
            Err(rpm::Error::TagNotFound(_)) => Ok(None),
            Err(e) => Err(bad(name, e)),
        }
    };
    let optional_i18n = |tag: IndexTag, name: &str| -> Result<Option<String>> {
        match h.get_entry_data_as_i18n_string(tag) {
            Ok(s) => Ok(Some(s.to_string())),
            Err(rpm::Error::TagNotFound(_)) => Ok(None),
            Err(e) => Err(bad(name, e)),
        }
    };
    let number = |tag: IndexTag| -> Option<u64> {
        h.get_entry_data_as_u64(tag)
            .ok()
            .or_else(|| h.get_entry_data_as_u32(tag).ok().map(u64::from))
    };
    let sig_number = |tag: IndexSignatureTag| -> Option<u64> {
        let s = &meta.signature;
        s.get_entry_data_as_u64(tag)
            .ok()
            .or_else(|| s.get_entry_data_as_u32(tag).ok().map(u64::from))
    };

    let arch = if meta.is_source_package() {
        "src".to_string()
    } else {
        required(IndexTag::RPMTAG_ARCH, "arch")?
    };
    let epoch = match h.get_entry_data_as_u32(IndexTag::RPMTAG_EPOCH) {
        Ok(e) => Some(e),
        Err(rpm::Error::TagNotFound(_)) => None,
        Err(e) => return Err(bad("epoch", e)),
    };

    let deps = |names: IndexTag, flags: IndexTag, versions: IndexTag, what: &str| {
        read_dependencies(h, names, flags, versions).map_err(|e| bad(what, e))
    };
    use IndexTag as T;

    Ok(RpmInfo {
        name: required(T::RPMTAG_NAME, "name")?,
        epoch,
        version: required(T::RPMTAG_VERSION, "version")?,
        release: required(T::RPMTAG_RELEASE, "release")?,
        arch,
        summary: optional_i18n(T::RPMTAG_SUMMARY, "summary")?.unwrap_or_default(),
        description: optional_i18n(T::RPMTAG_DESCRIPTION, "description")?.unwrap_or_default(),
        url: optional(T::RPMTAG_URL, "url")?,
        license: optional(T::RPMTAG_LICENSE, "license")?,
        vendor: optional(T::RPMTAG_VENDOR, "vendor")?,
        group: optional_i18n(T::RPMTAG_GROUP, "group")?,
        buildhost: optional(T::RPMTAG_BUILDHOST, "buildhost")?,
        sourcerpm: optional(T::RPMTAG_SOURCERPM, "sourcerpm")?,
        packager: optional(T::RPMTAG_PACKAGER, "packager")?,
        build_time: number(T::RPMTAG_BUILDTIME).unwrap_or(0),
        installed_size: number(T::RPMTAG_LONGSIZE)
            .or_else(|| number(T::RPMTAG_SIZE))
            .unwrap_or(0),
        // rpm moved the archive size into the signature header; librpm merges
        // it back, so look in both places as createrepo_c effectively does.
        archive_size: number(T::RPMTAG_LONGARCHIVESIZE)
            .or_else(|| number(T::RPMTAG_ARCHIVESIZE))
            .or_else(|| sig_number(IndexSignatureTag::RPMSIGTAG_LONGARCHIVESIZE))
            .or_else(|| sig_number(IndexSignatureTag::RPMSIGTAG_PAYLOADSIZE))
            .unwrap_or(0),
        header_range: (0, 0),
        provides: deps(
            T::RPMTAG_PROVIDENAME,
            T::RPMTAG_PROVIDEFLAGS,
            T::RPMTAG_PROVIDEVERSION,
            "provides",
        )?,
        requires: deps(
            T::RPMTAG_REQUIRENAME,
            T::RPMTAG_REQUIREFLAGS,
            T::RPMTAG_REQUIREVERSION,
            "requires",
        )?,
        conflicts: deps(
            T::RPMTAG_CONFLICTNAME,
            T::RPMTAG_CONFLICTFLAGS,
            T::RPMTAG_CONFLICTVERSION,
            "conflicts",
        )?,
        obsoletes: deps(
            T::RPMTAG_OBSOLETENAME,
            T::RPMTAG_OBSOLETEFLAGS,
            T::RPMTAG_OBSOLETEVERSION,
            "obsoletes",
        )?,
        recommends: deps(
            T::RPMTAG_RECOMMENDNAME,
            T::RPMTAG_RECOMMENDFLAGS,
            T::RPMTAG_RECOMMENDVERSION,
            "recommends",
        )?,
        suggests: deps(
            T::RPMTAG_SUGGESTNAME,
            T::RPMTAG_SUGGESTFLAGS,
            T::RPMTAG_SUGGESTVERSION,
            "suggests",
        )?,
        supplements: deps(
            T::RPMTAG_SUPPLEMENTNAME,
            T::RPMTAG_SUPPLEMENTFLAGS,
            T::RPMTAG_SUPPLEMENTVERSION,
            "supplements",
        )?,
        enhances: deps(
            T::RPMTAG_ENHANCENAME,
            T::RPMTAG_ENHANCEFLAGS,
            T::RPMTAG_ENHANCEVERSION,
            "enhances",
        )?,
        files: read_files(h).map_err(|e| bad("files", e))?,
        changelogs: read_changelogs(h).map_err(|e| bad("changelog", e))?,
        file_size: 0,
        pkgid: String::new(),
    })
}

/// A tag that may be absent: absent reads as empty.
fn or_empty<T>(
    r: std::result::Result<Vec<T>, rpm::Error>,
) -> std::result::Result<Vec<T>, rpm::Error> {
    match r {
        Err(rpm::Error::TagNotFound(_)) => Ok(Vec::new()),
        other => other,
    }
}

fn read_dependencies(
    h: &rpm::Header<IndexTag>,
    names: IndexTag,
    flags: IndexTag,
    versions: IndexTag,
) -> std::result::Result<Vec<Dependency>, rpm::Error> {
    let names = or_empty(h.get_entry_data_as_string_array(names))?;
    let flags = or_empty(h.get_entry_data_as_u32_array(flags))?;
    let versions = or_empty(h.get_entry_data_as_string_array(versions))?;
    if names.len() != flags.len() || names.len() != versions.len() {
        return Err(rpm::Error::InconsistentTagArrayLengths);
    }
    Ok(names
        .iter()
        .zip(&flags)
        .zip(&versions)
        .filter_map(|((n, f), v)| Dependency::from_header(n, *f, v))
        .collect())
}

fn read_files(h: &rpm::Header<IndexTag>) -> std::result::Result<Vec<RpmFile>, rpm::Error> {
    let basenames = or_empty(h.get_entry_data_as_string_array(IndexTag::RPMTAG_BASENAMES))?;
    let dirnames = or_empty(h.get_entry_data_as_string_array(IndexTag::RPMTAG_DIRNAMES))?;
    let dirindexes = or_empty(h.get_entry_data_as_u32_array(IndexTag::RPMTAG_DIRINDEXES))?;
    let modes = or_empty(h.get_entry_data_as_u16_array(IndexTag::RPMTAG_FILEMODES))?;
    let fileflags = or_empty(h.get_entry_data_as_u32_array(IndexTag::RPMTAG_FILEFLAGS))?;
    let n = basenames.len();
    if dirindexes.len() != n || modes.len() != n || fileflags.len() != n {
        return Err(rpm::Error::InconsistentTagArrayLengths);
    }
    const S_IFMT: u16 = 0o170000;
    const S_IFDIR: u16 = 0o040000;
    const RPMFILE_GHOST: u32 = 1 << 6;
    let mut files = Vec::with_capacity(n);
    for i in 0..n {
        let dir = dirnames
            .get(dirindexes[i] as usize)
            .ok_or(rpm::Error::InvalidTagIndex {
                tag: "DIRINDEXES".to_string(),
                index: dirindexes[i],
                bound: dirnames.len() as u32,
            })?;
        let kind = if modes[i] & S_IFMT == S_IFDIR {
            FileKind::Dir
        } else if fileflags[i] & RPMFILE_GHOST != 0 {
            FileKind::Ghost
        } else {
            FileKind::File
        };
        files.push(RpmFile {
            path: format!("{dir}{}", basenames[i]),
            kind,
        });
    }
    Ok(files)
}

fn read_changelogs(h: &rpm::Header<IndexTag>) -> std::result::Result<Vec<Changelog>, rpm::Error> {
    let times = or_empty(h.get_entry_data_as_u32_array(IndexTag::RPMTAG_CHANGELOGTIME))?;
    let names = or_empty(h.get_entry_data_as_string_array(IndexTag::RPMTAG_CHANGELOGNAME))?;
    let texts = or_empty(h.get_entry_data_as_string_array(IndexTag::RPMTAG_CHANGELOGTEXT))?;
    Ok(times
        .iter()
        .zip(&names)
        .zip(&texts)
        .map(|((t, n), x)| Changelog {
            author: n.to_string(),
            date: u64::from(*t),
            text: x.to_string(),
        })
        .collect())
}

/// What pig puts into an `.rpm` of its own.
#[derive(Debug, Clone, Default)]
pub struct RpmSpec {
    pub name: String,
    pub epoch: Option<u32>,
    pub version: String,
    pub release: String,
    pub arch: String,
    pub summary: String,
    pub description: String,
    pub license: String,
    pub url: Option<String>,
    pub vendor: Option<String>,
    pub packager: Option<String>,
    /// Seconds since the epoch, used for the build time and every file's
    /// mtime so the same spec always gives the same bytes
    /// (`SOURCE_DATE_EPOCH`).
    pub build_time: u32,
    /// Recorded as the build host; fixed rather than the machine's name.
    pub build_host: String,
    pub files: Vec<SpecEntry>,
    /// Directories owned by the package: (path, permission bits).
    pub dirs: Vec<(String, u16)>,
    /// Symbolic links: (path, target).
    pub symlinks: Vec<(String, String)>,
    pub requires: Vec<Dependency>,
    pub provides: Vec<Dependency>,
    pub conflicts: Vec<Dependency>,
    pub obsoletes: Vec<Dependency>,
    pub scripts: SpecScripts,
}

/// A regular file with its contents.
#[derive(Debug, Clone)]
pub struct SpecEntry {
    pub path: String,
    pub bytes: Vec<u8>,
    /// Permission bits, e.g. `0o755`.
    pub mode: u16,
    /// `%config(noreplace)`: kept when the admin has edited it.
    pub config: bool,
}

/// `/bin/sh` scriptlets.
#[derive(Debug, Clone, Default)]
pub struct SpecScripts {
    pub pre: Option<String>,
    pub post: Option<String>,
    pub preun: Option<String>,
    pub postun: Option<String>,
}

/// Build an `.rpm` from `spec` at `out`, deterministically: same spec, same
/// bytes. Written to a temporary file beside `out` and renamed into place.
pub fn build_rpm(spec: &RpmSpec, out: &Path) -> Result<()> {
    let input = out.display().to_string();
    let fail = |place: &str, e: rpm::Error| Error::invalid(&input, place, e);
    let config = rpm::BuildConfig::default()
        .source_date(spec.build_time)
        .compression(rpm::CompressionWithLevel::Zstd(19))
        .reserved_space(None);
    let mut b = rpm::PackageBuilder::new(
        &spec.name,
        &spec.version,
        &spec.license,
        &spec.arch,
        &spec.summary,
    );
    b.using_config(config)
        .release(&spec.release)
        .description(&spec.description)
        .build_host(&spec.build_host);
    if let Some(e) = spec.epoch {
        b.epoch(e);
    }
    if let Some(u) = &spec.url {
        b.url(u);
    }
    if let Some(v) = &spec.vendor {
        b.vendor(v);
    }
    if let Some(p) = &spec.packager {
        b.packager(p);
    }
    for (path, mode) in &spec.dirs {
        b.with_dir_entry(rpm::FileOptions::dir(path).permissions(*mode))
            .map_err(|e| fail(path, e))?;
    }
    for f in &spec.files {
        let mut opts = rpm::FileOptions::new(&f.path).permissions(f.mode);
        if f.config {
            opts = opts.config().noreplace();
        }
        b.with_file_contents(f.bytes.clone(), opts)
            .map_err(|e| fail(&f.path, e))?;
    }
    for (path, target) in &spec.symlinks {
        b.with_symlink(rpm::FileOptions::symlink(path, target))
            .map_err(|e| fail(path, e))?;
    }
    let to_rpm = |d: &Dependency| rpm::Dependency {
        name: d.name.clone(),
        flags: rpm::DependencyFlags::from_bits_retain(
            d.op.map_or(0, Op::to_flags)
                | if d.pre {
                    SENSE_SCRIPT_PRE | SENSE_SCRIPT_POST
                } else {
                    0
                },
        ),
        version: d.evr.as_ref().map(Evr::to_string).unwrap_or_default(),
    };
    for d in &spec.requires {
        b.requires(to_rpm(d));
    }
    for d in &spec.provides {
        b.provides(to_rpm(d));
    }
    for d in &spec.conflicts {
        b.conflicts(to_rpm(d));
    }
    for d in &spec.obsoletes {
        b.obsoletes(to_rpm(d));
    }
    let sh = |s: &String| rpm::Scriptlet::new(s.clone()).prog(vec!["/bin/sh"]);
    if let Some(s) = &spec.scripts.pre {
        b.pre_install_script(sh(s));
    }
    if let Some(s) = &spec.scripts.post {
        b.post_install_script(sh(s));
    }
    if let Some(s) = &spec.scripts.preun {
        b.pre_uninstall_script(sh(s));
    }
    if let Some(s) = &spec.scripts.postun {
        b.post_uninstall_script(sh(s));
    }
    let pkg = b.build().map_err(|e| fail("build", e))?;

    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).at(dir)?;
    let tmp_path = tmp.path().to_path_buf();
    {
        let mut w = io::BufWriter::new(tmp.as_file_mut());
        pkg.write(&mut w).map_err(|e| fail("write", e))?;
        w.flush().at(&tmp_path)?;
    }
    tmp.as_file().sync_all().at(&tmp_path)?;
    tmp.persist(out).map_err(|e| Error::io(out, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_files() {
        assert!(is_primary_file("/etc/pig.conf"));
        assert!(is_primary_file("/usr/bin/pig"));
        assert!(is_primary_file("/usr/sbin/pig"));
        assert!(is_primary_file("/usr/lib/sendmail"));
        assert!(!is_primary_file("/usr/lib/pig/x"));
        assert!(!is_primary_file("/etc"));
    }

    #[test]
    fn dependency_evr_split_like_createrepo_c() {
        let e = split_dependency_evr("1:2.0-3-4").unwrap();
        assert_eq!(e, Evr::new(Some(1), "2.0", Some("3-4".into())));
        assert!(split_dependency_evr("x:1").is_none());
        assert_eq!(
            split_dependency_evr("1.0").unwrap(),
            Evr::new(None, "1.0", None)
        );
    }

    #[test]
    fn garbage_is_an_error() {
        for data in [&b""[..], b"hello", &[0xed, 0xab, 0xee, 0xdb, 0, 0][..]] {
            let err = read_rpm_from(data, "x.rpm").unwrap_err().to_string();
            assert!(err.starts_with("x.rpm: "), "{err}");
        }
    }
}
