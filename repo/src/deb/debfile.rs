//! `.deb` files: reading the control member of any binary package, and
//! writing new packages deterministically.
//!
//! A `.deb` is an `ar` archive of `debian-binary` (`2.0\n`), `control.tar*`
//! and `data.tar*`, in that order (members whose names start with `_` may sit
//! between them and are skipped, as dpkg does). Reading needs only the first
//! two; the data member is checked to be present and complete but not
//! decompressed, so indexing a large package costs one sequential read.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::compress::Compression;
use crate::deb::control::{self, Field, Paragraph};
use crate::error::IoContext;
use crate::{Error, Result};

/// Largest `control.tar` member (compressed or not) and largest file inside
/// it that we read. Real control members are a few KiB; the limit only stops
/// a hostile file from making us allocate without bound.
const CONTROL_LIMIT: u64 = 64 << 20;

/// The control part of a binary package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebFile {
    /// The `control` file.
    pub control: Paragraph,
    /// The `md5sums` file as (path, md5) pairs, in file order; empty if the
    /// package has none.
    pub md5sums: Vec<(String, String)>,
    /// Names of the regular files in the control member (`control`,
    /// `md5sums`, `conffiles`, `postinst`, ...), in archive order, without
    /// the `./` prefix.
    pub control_files: Vec<String>,
}

/// Read the control part of the `.deb` at `path`.
pub fn read_deb(path: &Path) -> Result<DebFile> {
    let file = File::open(path).at(path)?;
    read_deb_from(BufReader::new(file), &path.display().to_string())
}

/// Read the control part of a `.deb` from a stream; `input` names it in
/// errors. The stream is read up to the end of the `data.tar` member.
pub fn read_deb_from(mut r: impl Read, input: &str) -> Result<DebFile> {
    let mut magic = [0u8; 8];
    match read_full(&mut r, &mut magic).at(input)? {
        8 if &magic == b"!<arch>\n" => {}
        _ => {
            return Err(Error::invalid(
                input,
                "ar header",
                "not a Debian binary package (no `!<arch>` magic)",
            ));
        }
    }

    let first = next_member(&mut r, input)?
        .ok_or_else(|| Error::invalid(input, "debian-binary", "missing: the archive is empty"))?;
    if first.name != "debian-binary" {
        return Err(Error::invalid(
            input,
            &first.name,
            "expected debian-binary as the first member",
        ));
    }
    let version = read_member(&mut r, &first, input)?;
    if !version.starts_with(b"2.") {
        return Err(Error::invalid(
            input,
            "debian-binary",
            format!(
                "unsupported format version {:?}",
                String::from_utf8_lossy(&version).trim_end()
            ),
        ));
    }

    let control = next_non_private(&mut r, input)?
        .ok_or_else(|| Error::invalid(input, "control.tar", "missing member"))?;
    let Some(compression) = tar_compression(&control.name, "control.tar") else {
        return Err(Error::invalid(
            input,
            &control.name,
            "expected a control.tar{,.gz,.xz,.zst} member here",
        ));
    };
    if control.size > CONTROL_LIMIT {
        return Err(Error::invalid(
            input,
            &control.name,
            format!("member of {} bytes is too large", control.size),
        ));
    }
    let control_bytes = read_member(&mut r, &control, input)?;
    let deb = parse_control_tar(&control_bytes, compression, &control.name, input)?;

    let data = next_non_private(&mut r, input)?
        .ok_or_else(|| Error::invalid(input, "data.tar", "missing member"))?;
    if tar_compression(&data.name, "data.tar").is_none() {
        return Err(Error::invalid(
            input,
            &data.name,
            "expected a data.tar{,.gz,.xz,.zst,.bz2,.lzma} member here",
        ));
    }
    skip_member(&mut r, &data, input)?;
    Ok(deb)
}

/// A `.deb` together with what an index needs about the file itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedDeb {
    pub deb: DebFile,
    /// File size in bytes.
    pub size: u64,
    /// Lower-case hex MD5 of the whole file.
    pub md5: String,
    /// Lower-case hex SHA-256 of the whole file.
    pub sha256: String,
}

/// Read the `.deb` at `path` and hash it in the same pass.
pub fn scan_deb(path: &Path) -> Result<ScannedDeb> {
    let file = File::open(path).at(path)?;
    let mut r = BufReader::with_capacity(
        1 << 16,
        HashingReader {
            inner: file,
            md5: Md5::new(),
            sha256: Sha256::new(),
            size: 0,
        },
    );
    let deb = read_deb_from(&mut r, &path.display().to_string())?;
    // Whatever follows data.tar still belongs to the file's hashes.
    io::copy(&mut r, &mut io::sink()).at(path)?;
    let h = r.into_inner();
    Ok(ScannedDeb {
        deb,
        size: h.size,
        md5: hex::encode(h.md5.finalize()),
        sha256: hex::encode(h.sha256.finalize()),
    })
}

struct HashingReader<R> {
    inner: R,
    md5: Md5,
    sha256: Sha256,
    size: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let got = buf.get(..n).unwrap_or_default();
        self.md5.update(got);
        self.sha256.update(got);
        self.size += n as u64;
        Ok(n)
    }
}

/// One `ar` member header.
struct Member {
    name: String,
    size: u64,
}

/// Read as many bytes as fit in `buf`, stopping early only at end of input.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The next member header, or `None` at a clean end of the archive.
fn next_member(r: &mut impl Read, input: &str) -> Result<Option<Member>> {
    let mut h = [0u8; 60];
    match read_full(r, &mut h).at(input)? {
        0 => return Ok(None),
        60 => {}
        _ => return Err(Error::invalid(input, "ar member header", "truncated")),
    }
    let raw_name = String::from_utf8_lossy(&h[..16]);
    // GNU ar ends names with `/`; dpkg and BSD ar pad with spaces.
    let name = raw_name.trim_end_matches(' ');
    let name = name.strip_suffix('/').unwrap_or(name).to_string();
    if &h[58..60] != b"`\n" {
        return Err(Error::invalid(
            input,
            format!("ar member header {name:?}"),
            "bad header terminator",
        ));
    }
    let size = std::str::from_utf8(&h[48..58])
        .ok()
        .and_then(|s| s.trim_end_matches(' ').parse::<u64>().ok())
        .ok_or_else(|| {
            Error::invalid(
                input,
                format!("ar member header {name:?}"),
                format!("bad size {:?}", String::from_utf8_lossy(&h[48..58])),
            )
        })?;
    Ok(Some(Member { name, size }))
}

/// The next member whose name does not start with `_` (those are
/// extensions dpkg ignores), skipping the others.
fn next_non_private(r: &mut impl Read, input: &str) -> Result<Option<Member>> {
    while let Some(m) = next_member(r, input)? {
        if m.name.starts_with('_') {
            skip_member(r, &m, input)?;
        } else {
            return Ok(Some(m));
        }
    }
    Ok(None)
}

fn read_member(r: &mut impl Read, m: &Member, input: &str) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    r.take(m.size)
        .read_to_end(&mut data)
        .map_err(|e| Error::invalid(input, &m.name, e))?;
    if (data.len() as u64) < m.size {
        return Err(Error::invalid(input, &m.name, "truncated"));
    }
    skip_padding(r, m, input)?;
    Ok(data)
}

fn skip_member(r: &mut impl Read, m: &Member, input: &str) -> Result<()> {
    let n = io::copy(&mut r.take(m.size), &mut io::sink())
        .map_err(|e| Error::invalid(input, &m.name, e))?;
    if n < m.size {
        return Err(Error::invalid(input, &m.name, "truncated"));
    }
    skip_padding(r, m, input)
}

/// Members start at even offsets. A missing pad byte at the very end of the
/// file is tolerated, as dpkg does.
fn skip_padding(r: &mut impl Read, m: &Member, input: &str) -> Result<()> {
    if m.size % 2 == 1 {
        read_full(r, &mut [0u8; 1]).map_err(|e| Error::invalid(input, &m.name, e))?;
    }
    Ok(())
}

/// The compression of a `control.tar*`/`data.tar*` member named `name`.
fn tar_compression(name: &str, stem: &str) -> Option<Compression> {
    match name.strip_prefix(stem)? {
        "" => Some(Compression::None),
        ".gz" => Some(Compression::Gzip),
        ".xz" => Some(Compression::Xz),
        ".zst" => Some(Compression::Zstd),
        // Valid in data.tar only, and only ever skipped.
        ".bz2" | ".lzma" if stem == "data.tar" => Some(Compression::None),
        _ => None,
    }
}

fn parse_control_tar(
    bytes: &[u8],
    compression: Compression,
    member: &str,
    input: &str,
) -> Result<DebFile> {
    let err = |e: io::Error| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Error::invalid(input, member, "truncated")
        } else {
            Error::invalid(input, member, e)
        }
    };
    let reader = compression.reader(bytes).map_err(err)?;
    let mut archive = tar::Archive::new(reader.take(CONTROL_LIMIT));
    let mut control_text = None;
    let mut md5sums_text = None;
    let mut control_files = Vec::new();
    for entry in archive.entries().map_err(err)? {
        let entry = entry.map_err(err)?;
        if !matches!(
            entry.header().entry_type(),
            tar::EntryType::Regular | tar::EntryType::Continuous
        ) {
            continue;
        }
        let raw = entry.path_bytes();
        let name = String::from_utf8_lossy(&raw);
        let name = name.strip_prefix("./").unwrap_or(&name).to_string();
        let wanted = match name.as_str() {
            "control" => Some(&mut control_text),
            "md5sums" => Some(&mut md5sums_text),
            _ => None,
        };
        if let Some(slot) = wanted {
            let mut bytes = Vec::new();
            let mut entry = entry;
            entry.read_to_end(&mut bytes).map_err(err)?;
            let text = String::from_utf8(bytes).map_err(|_| {
                Error::invalid(input, format!("{member}: {name}"), "not valid UTF-8")
            })?;
            *slot = Some(text);
        }
        control_files.push(name);
    }
    let control_text =
        control_text.ok_or_else(|| Error::invalid(input, member, "no control file"))?;
    let control = control::parse_one(&control_text, &format!("{input}: {member}: control"))?;
    let md5sums = match md5sums_text {
        Some(text) => parse_md5sums(&text, &format!("{input}: {member}: md5sums"))?,
        None => Vec::new(),
    };
    Ok(DebFile {
        control,
        md5sums,
        control_files,
    })
}

/// `md5sums` lines are `<32 hex digits>  <path>`.
fn parse_md5sums(text: &str, input: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed = line.split_once(' ').and_then(|(md5, path)| {
            let path = path.trim_start_matches(' ');
            (md5.len() == 32 && md5.bytes().all(|b| b.is_ascii_hexdigit()) && !path.is_empty())
                .then(|| (path.to_string(), md5.to_ascii_lowercase()))
        });
        match parsed {
            Some(pair) => out.push(pair),
            None => {
                return Err(Error::syntax(input, i + 1, "expected `<md5>  <path>`"));
            }
        }
    }
    Ok(out)
}

/// What a data-member entry is.
#[derive(Debug, Clone)]
enum Node {
    File { bytes: Vec<u8>, mode: u32 },
    Dir,
    Symlink(String),
}

/// Maintainer scripts and the other control files a builder may add, with
/// the mode dpkg-deb expects for each.
const CONTROL_SCRIPTS: &[(&str, u32)] = &[
    ("preinst", 0o755),
    ("postinst", 0o755),
    ("prerm", 0o755),
    ("postrm", 0o755),
    ("config", 0o755),
    ("templates", 0o644),
    ("triggers", 0o644),
    ("shlibs", 0o644),
    ("symbols", 0o644),
];

/// Builds a `.deb` deterministically: entries sorted by path, every mtime
/// set to the given time, owner root:root (uid/gid 0), `md5sums` and
/// `Installed-Size` computed. Parent directories are added implicitly.
///
/// Setters record problems (bad paths, duplicates) and [`DebBuilder::build`]
/// reports the first, so calls can be chained.
#[derive(Debug, Clone)]
pub struct DebBuilder {
    control: Paragraph,
    mtime: u64,
    compression: Compression,
    nodes: BTreeMap<String, Node>,
    conffiles: BTreeSet<String>,
    scripts: BTreeMap<String, String>,
    problems: Vec<(String, String)>,
}

impl DebBuilder {
    /// A package with `control` (needs Package, Version, Architecture,
    /// Maintainer and Description) whose entries all carry `mtime` (Unix
    /// seconds; use `SOURCE_DATE_EPOCH`).
    pub fn new(control: Paragraph, mtime: u64) -> Self {
        DebBuilder {
            control,
            mtime,
            compression: Compression::Xz,
            nodes: BTreeMap::new(),
            conffiles: BTreeSet::new(),
            scripts: BTreeMap::new(),
            problems: Vec::new(),
        }
    }

    /// Compression of both tar members (default xz, as dpkg-deb).
    pub fn compression(&mut self, c: Compression) -> &mut Self {
        self.compression = c;
        self
    }

    /// A regular file at absolute or relative `path` with permission `mode`.
    pub fn file(&mut self, path: &str, bytes: impl Into<Vec<u8>>, mode: u32) -> &mut Self {
        let node = Node::File {
            bytes: bytes.into(),
            mode: mode & 0o7777,
        };
        self.add(path, node)
    }

    /// A directory (mode 0755).
    pub fn dir(&mut self, path: &str) -> &mut Self {
        self.add(path, Node::Dir)
    }

    /// A symbolic link at `path` pointing to `target` (kept as given).
    pub fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        if target.is_empty() || target.contains('\0') {
            self.problems
                .push((path.to_string(), "bad symlink target".to_string()));
            return self;
        }
        self.add(path, Node::Symlink(target.to_string()))
    }

    /// Mark the file at `path` as a conffile; it must be added with
    /// [`DebBuilder::file`].
    pub fn conffile(&mut self, path: &str) -> &mut Self {
        match normalize(path) {
            Ok(p) => {
                self.conffiles.insert(p);
            }
            Err(msg) => self.problems.push((path.to_string(), msg)),
        }
        self
    }

    /// A maintainer script (`preinst`, `postinst`, `prerm`, `postrm`,
    /// `config`) or other control file (`triggers`, `templates`, `shlibs`,
    /// `symbols`).
    pub fn script(&mut self, name: &str, text: &str) -> &mut Self {
        if CONTROL_SCRIPTS.iter().any(|(n, _)| *n == name) {
            self.scripts.insert(name.to_string(), text.to_string());
        } else {
            self.problems.push((
                name.to_string(),
                "not a maintainer script or control file name".to_string(),
            ));
        }
        self
    }

    fn add(&mut self, path: &str, node: Node) -> &mut Self {
        match normalize(path) {
            Ok(p) => match self.nodes.get(&p) {
                Some(Node::Dir) if matches!(node, Node::Dir) => {}
                Some(_) => self.problems.push((path.to_string(), "added twice".into())),
                None => {
                    self.nodes.insert(p, node);
                }
            },
            Err(msg) => self.problems.push((path.to_string(), msg)),
        }
        self
    }

    /// The `.deb` bytes.
    pub fn build(&self) -> Result<Vec<u8>> {
        let input = format!(
            "{}.deb",
            self.control.get("Package").unwrap_or("(unnamed package)")
        );
        if let Some((place, msg)) = self.problems.first() {
            return Err(Error::invalid(&input, place, msg));
        }
        // ustar/GNU headers hold 11 octal digits of mtime; ar holds 12 decimal.
        if self.mtime > 0o77777777777 {
            return Err(Error::invalid(&input, "mtime", "beyond year 2242"));
        }
        let nodes = self.with_parents(&input)?;
        for c in &self.conffiles {
            if !matches!(nodes.get(c), Some(Node::File { .. })) {
                return Err(Error::invalid(
                    &input,
                    format!("conffile /{c}"),
                    "not a regular file of the package",
                ));
            }
        }

        let mut data = TarWriter::new(self.mtime);
        data.dir("./")?;
        let mut md5sums = String::new();
        // dpkg-gencontrol's rule: 1 KiB per started KiB of each file or
        // symlink target, 1 per directory, the top directory included.
        let mut installed_kib = 1u64;
        for (path, node) in &nodes {
            let name = format!("./{path}");
            match node {
                Node::Dir => {
                    data.dir(&format!("{name}/"))?;
                    installed_kib += 1;
                }
                Node::Symlink(target) => {
                    data.symlink(&name, target)?;
                    installed_kib += (target.len() as u64).div_ceil(1024);
                }
                Node::File { bytes, mode } => {
                    data.file(&name, bytes, *mode)?;
                    installed_kib += (bytes.len() as u64).div_ceil(1024);
                    md5sums.push_str(&hex::encode(Md5::digest(bytes)));
                    md5sums.push_str("  ");
                    md5sums.push_str(path);
                    md5sums.push('\n');
                }
            }
        }

        let control_text = self.control_text(installed_kib, &input)?;
        let mut ctl = TarWriter::new(self.mtime);
        ctl.dir("./")?;
        let mut members: Vec<(&str, String, u32)> = vec![("control", control_text, 0o644)];
        if !self.conffiles.is_empty() {
            let text: String = self.conffiles.iter().map(|c| format!("/{c}\n")).collect();
            members.push(("conffiles", text, 0o644));
        }
        if !md5sums.is_empty() {
            members.push(("md5sums", md5sums, 0o644));
        }
        for (name, text) in &self.scripts {
            let mode = CONTROL_SCRIPTS
                .iter()
                .find(|(n, _)| n == name)
                .map_or(0o644, |(_, m)| *m);
            members.push((name, text.clone(), mode));
        }
        members.sort_by(|a, b| a.0.cmp(b.0));
        for (name, text, mode) in &members {
            ctl.file(&format!("./{name}"), text.as_bytes(), *mode)?;
        }

        let ext = self.compression.extension();
        let compress = |what: &str, tar: Vec<u8>| {
            self.compression
                .compress(&tar)
                .map_err(|e| Error::invalid(&input, what, e))
        };
        let control_tar = compress("control.tar", ctl.finish()?)?;
        let data_tar = compress("data.tar", data.finish()?)?;

        let mut out = b"!<arch>\n".to_vec();
        ar_member(&mut out, "debian-binary", self.mtime, b"2.0\n");
        ar_member(
            &mut out,
            &format!("control.tar{ext}"),
            self.mtime,
            &control_tar,
        );
        ar_member(&mut out, &format!("data.tar{ext}"), self.mtime, &data_tar);
        Ok(out)
    }

    /// Build and write to `path` atomically (temporary file, then rename),
    /// world-readable so `_apt` can fetch it from a local repository.
    pub fn write_to_path(&self, path: &Path) -> Result<()> {
        let bytes = self.build()?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::NamedTempFile::new_in(dir).at(dir)?;
        tmp.write_all(&bytes).at(tmp.path())?;
        set_readable(tmp.as_file()).at(tmp.path())?;
        tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
        Ok(())
    }

    /// Every node plus the directories above it.
    fn with_parents(&self, input: &str) -> Result<BTreeMap<String, Node>> {
        let mut nodes = self.nodes.clone();
        for path in self.nodes.keys() {
            let mut parent = path.as_str();
            while let Some((p, _)) = parent.rsplit_once('/') {
                match nodes.get(p) {
                    Some(Node::Dir) => {}
                    Some(_) => {
                        return Err(Error::invalid(
                            input,
                            format!("/{path}"),
                            format!("parent /{p} is not a directory"),
                        ));
                    }
                    None => {
                        nodes.insert(p.to_string(), Node::Dir);
                    }
                }
                parent = p;
            }
        }
        Ok(nodes)
    }

    fn control_text(&self, installed_kib: u64, input: &str) -> Result<String> {
        let mut control = self.control.clone();
        for name in [
            "Package",
            "Version",
            "Architecture",
            "Maintainer",
            "Description",
        ] {
            if control.get(name).is_none_or(|v| v.trim().is_empty()) {
                return Err(Error::invalid(
                    input,
                    "control",
                    format!("{name} field is missing or empty"),
                ));
            }
        }
        let size = installed_kib.to_string();
        if control.get("Installed-Size").is_some() {
            control.set("Installed-Size", size);
        } else {
            // Where dpkg-gencontrol puts it: after Maintainer.
            let at = control
                .fields
                .iter()
                .position(|f| f.name.eq_ignore_ascii_case("Maintainer"))
                .map_or(control.fields.len(), |i| i + 1);
            control.fields.insert(
                at,
                Field {
                    name: "Installed-Size".into(),
                    value: size,
                    line: 0,
                },
            );
        }
        let text = control.to_string();
        // A value with a bare newline would change meaning on the way
        // through dpkg; prove the text reads back as the same fields.
        let back = control::parse_one(&text, &format!("{input}: control"))?;
        if back.fields.len() != control.fields.len() {
            return Err(Error::invalid(
                input,
                "control",
                "a field value has a line that does not start with a space",
            ));
        }
        Ok(text)
    }
}

#[cfg(unix)]
fn set_readable(f: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_readable(_: &File) -> io::Result<()> {
    Ok(())
}

/// `usr/bin/x` from `/usr/bin/x`, `./usr/bin/x` or `usr/bin/x`; refuses
/// empty, `.` and `..` components.
fn normalize(path: &str) -> std::result::Result<String, String> {
    let p = path.strip_prefix("./").unwrap_or(path);
    let p = p.trim_start_matches('/').trim_end_matches('/');
    if p.is_empty() || p.contains('\0') {
        return Err("empty path".into());
    }
    if p.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
        return Err("path has an empty, `.` or `..` component".into());
    }
    Ok(p.to_string())
}

/// `ar` member header exactly as dpkg-deb writes it.
fn ar_member(out: &mut Vec<u8>, name: &str, mtime: u64, data: &[u8]) {
    let header = format!(
        "{name:<16}{mtime:<12}{:<6}{:<6}{:<8}{:<10}`\n",
        0,
        0,
        "100644",
        data.len()
    );
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(b'\n');
    }
}

/// A GNU tar writer with dpkg-deb's conventions: `./`-prefixed names,
/// root:root, one mtime, GNU long-name records for names over 100 bytes.
struct TarWriter {
    builder: tar::Builder<Vec<u8>>,
    mtime: u64,
}

impl TarWriter {
    fn new(mtime: u64) -> Self {
        TarWriter {
            builder: tar::Builder::new(Vec::new()),
            mtime,
        }
    }

    fn header(&self, kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(self.mtime);
        h.set_uid(0);
        h.set_gid(0);
        // Cannot fail: both names are shorter than the 32-byte fields.
        let _ = h.set_username("root");
        let _ = h.set_groupname("root");
        h
    }

    fn append(
        &mut self,
        mut h: tar::Header,
        name: &str,
        link: Option<&str>,
        data: &[u8],
    ) -> Result<()> {
        self.long_record(tar::EntryType::GNULongName, name)?;
        if let Some(link) = link {
            self.long_record(tar::EntryType::GNULongLink, link)?;
            let l = link.as_bytes();
            let n = l.len().min(100);
            if let Some(gnu) = h.as_gnu_mut() {
                gnu.linkname[..n].copy_from_slice(&l[..n]);
            }
        }
        let b = name.as_bytes();
        let n = b.len().min(100);
        if let Some(gnu) = h.as_gnu_mut() {
            gnu.name[..n].copy_from_slice(&b[..n]);
        }
        h.set_cksum();
        self.builder
            .append(&h, data)
            .map_err(|e| Error::invalid("tar", name, e))
    }

    /// GNU `././@LongLink` record that carries a name or link target too
    /// long for the 100-byte header field.
    fn long_record(&mut self, kind: tar::EntryType, value: &str) -> Result<()> {
        if value.len() <= 100 {
            return Ok(());
        }
        let mut data = value.as_bytes().to_vec();
        data.push(0);
        let mut h = self.header(kind, 0o644, data.len() as u64);
        if let Some(gnu) = h.as_gnu_mut() {
            gnu.name[..13].copy_from_slice(b"././@LongLink");
        }
        h.set_cksum();
        self.builder
            .append(&h, data.as_slice())
            .map_err(|e| Error::invalid("tar", value, e))
    }

    fn dir(&mut self, name: &str) -> Result<()> {
        let h = self.header(tar::EntryType::Directory, 0o755, 0);
        self.append(h, name, None, &[])
    }

    fn file(&mut self, name: &str, bytes: &[u8], mode: u32) -> Result<()> {
        let h = self.header(tar::EntryType::Regular, mode, bytes.len() as u64);
        self.append(h, name, None, bytes)
    }

    fn symlink(&mut self, name: &str, target: &str) -> Result<()> {
        let h = self.header(tar::EntryType::Symlink, 0o777, 0);
        self.append(h, name, Some(target), &[])
    }

    fn finish(self) -> Result<Vec<u8>> {
        self.builder
            .into_inner()
            .map_err(|e| Error::invalid("tar", "end of archive", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control() -> Paragraph {
        control::parse_one(
            "Package: pig-test\nVersion: 1.0-1\nArchitecture: all\nMaintainer: pig <pig@example.invalid>\nDescription: test package\n long text\n",
            "test",
        )
        .unwrap()
    }

    #[test]
    fn builds_and_reads_back() {
        let mut b = DebBuilder::new(control(), 1_700_000_000);
        b.file("/etc/pig.conf", "a=1\n", 0o644)
            .conffile("/etc/pig.conf")
            .file("usr/bin/pig", vec![0u8; 3000], 0o755)
            .symlink("/usr/bin/pig2", "pig")
            .script("postinst", "#!/bin/sh\nexit 0\n");
        let bytes = b.build().unwrap();
        assert_eq!(bytes, b.build().unwrap());
        let deb = read_deb_from(bytes.as_slice(), "t.deb").unwrap();
        assert_eq!(deb.control.get("Installed-Size"), Some("9"));
        assert_eq!(
            deb.control_files,
            ["conffiles", "control", "md5sums", "postinst"]
        );
        assert_eq!(deb.md5sums.len(), 2);
        assert_eq!(deb.md5sums[0].0, "etc/pig.conf");
    }

    #[test]
    fn refuses_bad_paths_and_missing_fields() {
        let e = DebBuilder::new(control(), 0)
            .file("usr/../etc", "", 0o644)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("usr/../etc"), "{e}");
        let e = DebBuilder::new(control(), 0)
            .file("a", "", 0o644)
            .file("a/b", "", 0o644)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("not a directory"), "{e}");
        let mut c = control();
        c.remove("Maintainer");
        let e = DebBuilder::new(c, 0).build().unwrap_err();
        assert!(e.to_string().contains("Maintainer"), "{e}");
        let e = DebBuilder::new(control(), 0)
            .conffile("/etc/x")
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("/etc/x"), "{e}");
    }

    #[test]
    fn md5sums_syntax_errors_name_line() {
        let e = parse_md5sums("d41d8cd98f00b204e9800998ecf8427e  a\nxyz b\n", "m").unwrap_err();
        assert_eq!(e.to_string(), "m:2: expected `<md5>  <path>`");
    }
}
