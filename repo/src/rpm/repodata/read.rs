//! Reading `repodata/`: `repomd.xml`, checksum verification, and streaming
//! iterators over `primary` and `filelists` that hold one package at a time.
//! Errors name the document and the element path inside it, e.g.
//! `primary.xml.gz: package[3]/version: missing attribute epoch`.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use quick_xml::events::{BytesStart, Event};
use sha2::{Digest, Sha256, Sha512};

use super::deps::Dependencies;
use super::write::{Repomd, RepomdRecord};
use crate::compress::Compression;
use crate::error::IoContext;
use crate::rpm::header::{Dependency, FileKind, RpmFile};
use crate::rpm::version::{Evr, Op};
use crate::{Error, Result};

/// One package as `primary.xml` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RepoPackage {
    pub name: String,
    pub epoch: u32,
    pub version: String,
    pub release: String,
    pub arch: String,
    /// Digest type of `checksum` (`sha256` normally).
    pub checksum_type: String,
    /// The package file's digest, also its `pkgid`.
    pub checksum: String,
    pub summary: String,
    pub description: String,
    pub packager: String,
    pub url: String,
    pub file_time: u64,
    pub build_time: u64,
    /// Size of the `.rpm` file.
    pub size: u64,
    pub installed_size: u64,
    pub archive_size: u64,
    /// Relative to the repository root (or to `location_base`).
    pub location_href: String,
    pub location_base: Option<String>,
    pub license: String,
    pub vendor: String,
    pub group: String,
    pub buildhost: String,
    pub sourcerpm: String,
    pub header_range: (u64, u64),
    pub deps: Dependencies,
    /// The files `primary.xml` lists (see `is_primary_file`); the full list
    /// is in `filelists.xml`.
    pub files: Vec<RpmFile>,
}

impl RepoPackage {
    /// The package's `epoch:version-release`.
    pub fn evr(&self) -> Evr {
        Evr::new(Some(self.epoch), &self.version, Some(self.release.clone()))
    }
}

/// One package's entry in `filelists.xml`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PackageFiles {
    pub pkgid: String,
    pub name: String,
    pub arch: String,
    pub epoch: u32,
    pub version: String,
    pub release: String,
    pub files: Vec<RpmFile>,
}

/// A repository's metadata, opened from `<repo>/repodata/repomd.xml`.
pub struct RepodataReader {
    repo_dir: PathBuf,
    repomd: Repomd,
}

impl RepodataReader {
    /// Read `repo_dir/repodata/repomd.xml`.
    pub fn open(repo_dir: &Path) -> Result<RepodataReader> {
        let path = repo_dir.join("repodata").join("repomd.xml");
        let file = File::open(&path).at(&path)?;
        let mut xml = XmlCursor::new(BufReader::new(file), "repomd.xml".to_string());
        let repomd = parse_repomd(&mut xml)?;
        Ok(RepodataReader {
            repo_dir: repo_dir.to_path_buf(),
            repomd,
        })
    }

    /// The parsed `repomd.xml`.
    pub fn repomd(&self) -> &Repomd {
        &self.repomd
    }

    /// Check every file `repomd.xml` lists against its size and checksum,
    /// and its decompressed contents against the open size and checksum.
    pub fn verify_all(&self) -> Result<()> {
        for record in &self.repomd.records {
            self.verify(record)?;
        }
        Ok(())
    }

    fn verify(&self, r: &RepomdRecord) -> Result<()> {
        let path = self.repo_dir.join(&r.location_href);
        let name = file_name(&r.location_href);
        let place = format!("data[{}]", r.kind);
        let mut hasher = Hasher::new(&r.checksum_type).ok_or_else(|| {
            Error::invalid(
                "repomd.xml",
                &place,
                format!("unsupported checksum type {}", r.checksum_type),
            )
        })?;
        let file = File::open(&path).at(&path)?;
        let size = hash_stream(file, &mut hasher).at(&path)?;
        if size != r.size {
            return Err(Error::invalid(
                name,
                "size",
                format!("{size} bytes, repomd.xml says {}", r.size),
            ));
        }
        let got = hasher.hex();
        if got != r.checksum {
            return Err(Error::invalid(
                name,
                "checksum",
                format!("{} {got}, repomd.xml says {}", r.checksum_type, r.checksum),
            ));
        }
        if r.open_checksum.is_some() || r.open_size.is_some() {
            let mut hasher = Hasher::new(&r.checksum_type).unwrap_or(Hasher::Sha256(Sha256::new()));
            let open_size = hash_stream(open_decompressed(&path)?, &mut hasher)
                .map_err(|e| Error::invalid(name, "contents", format!("cannot decompress: {e}")))?;
            if let Some(want) = r.open_size
                && want != open_size
            {
                return Err(Error::invalid(
                    name,
                    "open-size",
                    format!("{open_size} bytes, repomd.xml says {want}"),
                ));
            }
            let got = hasher.hex();
            if let Some(want) = &r.open_checksum
                && *want != got
            {
                return Err(Error::invalid(
                    name,
                    "open-checksum",
                    format!("{got}, repomd.xml says {want}"),
                ));
            }
        }
        Ok(())
    }

    fn document(&self, kind: &str) -> Result<XmlCursor<BufReader<Box<dyn Read>>>> {
        let record = self.repomd.record(kind).ok_or_else(|| {
            Error::invalid("repomd.xml", "repomd", format!("no {kind} data listed"))
        })?;
        let path = self.repo_dir.join(&record.location_href);
        let reader = BufReader::with_capacity(128 * 1024, open_decompressed(&path)?);
        Ok(XmlCursor::new(
            reader,
            file_name(&record.location_href).to_string(),
        ))
    }

    /// Stream the packages of `primary.xml`, one at a time.
    pub fn packages(&self) -> Result<impl Iterator<Item = Result<RepoPackage>> + use<>> {
        let mut xml = self.document("primary")?;
        let mut started = false;
        Ok(std::iter::from_fn(move || {
            package_iter_step(&mut xml, &mut started, "metadata", parse_primary_package)
        }))
    }

    /// Stream the per-package file lists of `filelists.xml`.
    pub fn filelists(&self) -> Result<impl Iterator<Item = Result<PackageFiles>> + use<>> {
        let mut xml = self.document("filelists")?;
        let mut started = false;
        Ok(std::iter::from_fn(move || {
            package_iter_step(&mut xml, &mut started, "filelists", parse_filelists_package)
        }))
    }
}

fn file_name(href: &str) -> &str {
    href.rsplit('/').next().unwrap_or(href)
}

fn open_decompressed(path: &Path) -> Result<Box<dyn Read>> {
    let file = File::open(path).at(path)?;
    let mut reader = BufReader::new(file);
    let magic = reader.fill_buf().at(path)?;
    let compression = match Compression::detect(magic) {
        Compression::None => Compression::from_path(path),
        c => c,
    };
    compression.reader(reader).at(path)
}

enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    fn new(kind: &str) -> Option<Hasher> {
        match kind {
            "sha256" => Some(Hasher::Sha256(Sha256::new())),
            "sha512" => Some(Hasher::Sha512(Sha512::new())),
            _ => None,
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    fn hex(self) -> String {
        match self {
            Hasher::Sha256(h) => hex::encode(h.finalize()),
            Hasher::Sha512(h) => hex::encode(h.finalize()),
        }
    }
}

fn hash_stream(mut r: impl Read, hasher: &mut Hasher) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        hasher.update(chunk);
        total += chunk.len() as u64;
    }
}

/// A simplified XML event: attributes decoded and unescaped, character and
/// entity references folded into text, empty elements split into start+end.
enum Ev {
    Start {
        name: String,
        attrs: Vec<(String, String)>,
    },
    Text(String),
    End,
    Eof,
}

/// One quick-xml event, owned, so the reader's buffer can be reused.
enum Raw {
    Start(String, Vec<(String, String)>, bool),
    End,
    Text(String),
    Eof,
    Skip,
}

/// A streaming XML reader that knows where it is, for error messages.
struct XmlCursor<R> {
    reader: quick_xml::Reader<R>,
    buf: Vec<u8>,
    input: String,
    stack: Vec<String>,
    packages: usize,
    pending_end: bool,
    /// Set once iteration has ended, normally or by an error.
    done: bool,
}

impl<R: BufRead> XmlCursor<R> {
    fn new(inner: R, input: String) -> Self {
        let mut reader = quick_xml::Reader::from_reader(inner);
        reader.config_mut().check_end_names = true;
        XmlCursor {
            reader,
            buf: Vec::new(),
            input,
            stack: Vec::new(),
            packages: 0,
            pending_end: false,
            done: false,
        }
    }

    /// The element path below the document element, e.g. `package[3]/version`.
    fn place(&self) -> String {
        if self.stack.len() <= 1 {
            self.stack
                .first()
                .cloned()
                .unwrap_or_else(|| "document".to_string())
        } else {
            self.stack[1..].join("/")
        }
    }

    fn error(&self, message: impl std::fmt::Display) -> Error {
        Error::invalid(&self.input, self.place(), message)
    }

    fn next(&mut self) -> Result<Ev> {
        if self.pending_end {
            self.pending_end = false;
            self.stack.pop();
            return Ok(Ev::End);
        }
        loop {
            self.buf.clear();
            let raw: std::result::Result<Raw, String> =
                match self.reader.read_event_into(&mut self.buf) {
                    Err(e) => Err(format!("malformed XML: {e}")),
                    Ok(Event::Start(e)) => decode_start(&e).map(|(n, a)| Raw::Start(n, a, false)),
                    Ok(Event::Empty(e)) => decode_start(&e).map(|(n, a)| Raw::Start(n, a, true)),
                    Ok(Event::End(_)) => Ok(Raw::End),
                    Ok(Event::Text(t)) => t
                        .xml10_content()
                        .map(|s| Raw::Text(s.into_owned()))
                        .map_err(|e| format!("bad text: {e}")),
                    Ok(Event::CData(t)) => t
                        .decode()
                        .map(|s| Raw::Text(s.into_owned()))
                        .map_err(|e| format!("bad CDATA: {e}")),
                    Ok(Event::GeneralRef(r)) => match r.resolve_char_ref() {
                        Ok(Some(c)) => Ok(Raw::Text(c.to_string())),
                        Ok(None) => match r.decode() {
                            Ok(name) => quick_xml::escape::resolve_predefined_entity(&name)
                                .map(|v| Raw::Text(v.to_string()))
                                .ok_or_else(|| format!("unknown entity &{name};")),
                            Err(e) => Err(format!("bad entity reference: {e}")),
                        },
                        Err(e) => Err(format!("bad character reference: {e}")),
                    },
                    Ok(Event::Eof) => Ok(Raw::Eof),
                    Ok(Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_)) => {
                        Ok(Raw::Skip)
                    }
                };
            let raw = raw.map_err(|m| {
                let at = self.reader.buffer_position();
                self.error(format!("{m} (near byte {at})"))
            })?;
            match raw {
                Raw::Start(name, attrs, empty) => {
                    self.push(&name);
                    self.pending_end = empty;
                    return Ok(Ev::Start { name, attrs });
                }
                Raw::End => {
                    self.stack.pop();
                    return Ok(Ev::End);
                }
                Raw::Text(t) => return Ok(Ev::Text(t)),
                Raw::Eof => {
                    if !self.stack.is_empty() {
                        return Err(self.error("document ends early (truncated)"));
                    }
                    return Ok(Ev::Eof);
                }
                Raw::Skip => {}
            }
        }
    }

    fn push(&mut self, name: &str) {
        if self.stack.len() == 1 && name == "package" {
            self.packages += 1;
            self.stack.push(format!("package[{}]", self.packages));
        } else {
            self.stack.push(name.to_string());
        }
    }

    /// The text content of the element just started; nested elements are
    /// an error.
    fn text(&mut self) -> Result<String> {
        let mut s = String::new();
        loop {
            match self.next()? {
                Ev::Text(t) => s.push_str(&t),
                Ev::End => return Ok(s),
                Ev::Start { name, .. } => {
                    return Err(self.error(format!("unexpected element <{name}> in text")));
                }
                Ev::Eof => return Err(self.error("document ends early (truncated)")),
            }
        }
    }

    /// Skip the rest of the element just started.
    fn skip(&mut self) -> Result<()> {
        let mut depth = 1;
        while depth > 0 {
            match self.next()? {
                Ev::Start { .. } => depth += 1,
                Ev::End => depth -= 1,
                Ev::Text(_) => {}
                Ev::Eof => return Err(self.error("document ends early (truncated)")),
            }
        }
        Ok(())
    }
}

fn decode_start(
    e: &BytesStart<'_>,
) -> std::result::Result<(String, Vec<(String, String)>), String> {
    let name = String::from_utf8(e.name().as_ref().to_vec())
        .map_err(|_| "element name is not UTF-8".to_string())?;
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| format!("bad attribute: {err}"))?;
        let key = String::from_utf8(a.key.as_ref().to_vec())
            .map_err(|_| "attribute name is not UTF-8".to_string())?;
        let value = a
            .unescape_value()
            .map_err(|err| format!("bad attribute {key}: {err}"))?;
        attrs.push((key, value.into_owned()));
    }
    Ok((name, attrs))
}

fn get<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

impl<R: BufRead> XmlCursor<R> {
    fn require<'a>(&self, attrs: &'a [(String, String)], key: &str) -> Result<&'a str> {
        get(attrs, key).ok_or_else(|| self.error(format!("missing attribute {key}")))
    }

    fn number<T: std::str::FromStr>(&self, attrs: &[(String, String)], key: &str) -> Result<T> {
        let v = self.require(attrs, key)?;
        v.parse()
            .map_err(|_| self.error(format!("attribute {key}: {v:?} is not a number")))
    }

    fn number_text<T: std::str::FromStr>(&mut self) -> Result<T> {
        // Reading the text leaves the element; name it as it was.
        let place = self.place();
        let v = self.text()?;
        v.trim()
            .parse()
            .map_err(|_| Error::invalid(&self.input, place, format!("{v:?} is not a number")))
    }
}

/// Parses one `<package>` element given its attributes.
type ParseFn<R, T> = fn(&mut XmlCursor<R>, &[(String, String)]) -> Result<T>;

/// Advance to the next `<package>` below the document element `root` and
/// parse it with `parse`.
fn package_iter_step<R: BufRead, T>(
    xml: &mut XmlCursor<R>,
    started: &mut bool,
    root: &str,
    parse: ParseFn<R, T>,
) -> Option<Result<T>> {
    if xml.done {
        return None;
    }
    let step = (|| -> Result<Option<T>> {
        loop {
            match xml.next()? {
                Ev::Start { name, attrs } => {
                    if !*started {
                        if name != root {
                            return Err(xml.error(format!("expected <{root}>, found <{name}>")));
                        }
                        *started = true;
                    } else if name == "package" && xml.stack.len() == 2 {
                        return parse(xml, &attrs).map(Some);
                    } else {
                        xml.skip()?;
                    }
                }
                Ev::Text(_) => {}
                Ev::End => {}
                Ev::Eof => {
                    if !*started {
                        return Err(xml.error(format!("no <{root}> element")));
                    }
                    return Ok(None);
                }
            }
        }
    })();
    match step {
        Ok(Some(v)) => Some(Ok(v)),
        Ok(None) => {
            xml.done = true;
            None
        }
        // Stop after an error: the stream's position means nothing any more.
        Err(e) => {
            xml.done = true;
            Some(Err(e))
        }
    }
}

fn parse_dependency<R: BufRead>(
    xml: &XmlCursor<R>,
    attrs: &[(String, String)],
) -> Result<Dependency> {
    let name = xml.require(attrs, "name")?.to_string();
    let op = match get(attrs, "flags") {
        Some(f) => Some(
            f.parse::<Op>()
                .map_err(|_| xml.error(format!("attribute flags: unknown operator {f:?}")))?,
        ),
        None => None,
    };
    let epoch = match get(attrs, "epoch") {
        Some(e) => Some(
            e.parse::<u32>()
                .map_err(|_| xml.error(format!("attribute epoch: {e:?} is not a number")))?,
        ),
        None => None,
    };
    let ver = get(attrs, "ver");
    let rel = get(attrs, "rel");
    let evr = if epoch.is_some() || ver.is_some() || rel.is_some() {
        Some(Evr::new(
            epoch,
            ver.unwrap_or_default(),
            rel.map(str::to_string),
        ))
    } else {
        None
    };
    let pre = matches!(get(attrs, "pre"), Some("1" | "true"));
    Ok(Dependency {
        name,
        flags: op.map_or(0, Op::to_flags),
        op,
        evr,
        pre,
    })
}

fn parse_dependency_list<R: BufRead>(xml: &mut XmlCursor<R>) -> Result<Vec<Dependency>> {
    let mut list = Vec::new();
    loop {
        match xml.next()? {
            Ev::Start { name, attrs } if name == "rpm:entry" => {
                list.push(parse_dependency(xml, &attrs)?);
                xml.skip()?;
            }
            Ev::Start { .. } => xml.skip()?,
            Ev::Text(_) => {}
            Ev::End => return Ok(list),
            Ev::Eof => return Err(xml.error("document ends early (truncated)")),
        }
    }
}

fn parse_file<R: BufRead>(xml: &mut XmlCursor<R>, attrs: &[(String, String)]) -> Result<RpmFile> {
    let kind = match get(attrs, "type") {
        None | Some("file") => FileKind::File,
        Some("dir") => FileKind::Dir,
        Some("ghost") => FileKind::Ghost,
        Some(other) => {
            return Err(xml.error(format!("attribute type: unknown file type {other:?}")));
        }
    };
    Ok(RpmFile {
        path: xml.text()?,
        kind,
    })
}

fn parse_version<R: BufRead>(
    xml: &mut XmlCursor<R>,
    attrs: &[(String, String)],
) -> Result<(u32, String, String)> {
    let v = (
        xml.number(attrs, "epoch")?,
        xml.require(attrs, "ver")?.to_string(),
        xml.require(attrs, "rel")?.to_string(),
    );
    xml.skip()?;
    Ok(v)
}

fn parse_primary_package<R: BufRead>(
    xml: &mut XmlCursor<R>,
    _attrs: &[(String, String)],
) -> Result<RepoPackage> {
    let mut p = RepoPackage::default();
    let (mut has_name, mut has_version, mut has_checksum, mut has_location) =
        (false, false, false, false);
    loop {
        match xml.next()? {
            Ev::Start { name, attrs } => match name.as_str() {
                "name" => {
                    p.name = xml.text()?;
                    has_name = true;
                }
                "arch" => p.arch = xml.text()?,
                "version" => {
                    (p.epoch, p.version, p.release) = parse_version(xml, &attrs)?;
                    has_version = true;
                }
                "checksum" => {
                    p.checksum_type = xml.require(&attrs, "type")?.to_string();
                    p.checksum = xml.text()?;
                    has_checksum = true;
                }
                "summary" => p.summary = xml.text()?,
                "description" => p.description = xml.text()?,
                "packager" => p.packager = xml.text()?,
                "url" => p.url = xml.text()?,
                "time" => {
                    p.file_time = xml.number(&attrs, "file")?;
                    p.build_time = xml.number(&attrs, "build")?;
                    xml.skip()?;
                }
                "size" => {
                    p.size = xml.number(&attrs, "package")?;
                    p.installed_size = xml.number(&attrs, "installed")?;
                    p.archive_size = xml.number(&attrs, "archive")?;
                    xml.skip()?;
                }
                "location" => {
                    p.location_href = xml.require(&attrs, "href")?.to_string();
                    p.location_base = get(&attrs, "xml:base").map(str::to_string);
                    has_location = true;
                    xml.skip()?;
                }
                "format" => parse_format(xml, &mut p)?,
                _ => xml.skip()?,
            },
            Ev::Text(_) => {}
            Ev::End => break,
            Ev::Eof => return Err(xml.error("document ends early (truncated)")),
        }
    }
    for (present, what) in [
        (has_name, "name"),
        (has_version, "version"),
        (has_checksum, "checksum"),
        (has_location, "location"),
    ] {
        if !present {
            return Err(Error::invalid(
                &xml.input,
                format!("package[{}]", xml.packages),
                format!("missing element {what}"),
            ));
        }
    }
    Ok(p)
}

fn parse_format<R: BufRead>(xml: &mut XmlCursor<R>, p: &mut RepoPackage) -> Result<()> {
    loop {
        match xml.next()? {
            Ev::Start { name, attrs } => match name.as_str() {
                "rpm:license" => p.license = xml.text()?,
                "rpm:vendor" => p.vendor = xml.text()?,
                "rpm:group" => p.group = xml.text()?,
                "rpm:buildhost" => p.buildhost = xml.text()?,
                "rpm:sourcerpm" => p.sourcerpm = xml.text()?,
                "rpm:header-range" => {
                    p.header_range = (xml.number(&attrs, "start")?, xml.number(&attrs, "end")?);
                    xml.skip()?;
                }
                "rpm:provides" => p.deps.provides = parse_dependency_list(xml)?,
                "rpm:requires" => p.deps.requires = parse_dependency_list(xml)?,
                "rpm:conflicts" => p.deps.conflicts = parse_dependency_list(xml)?,
                "rpm:obsoletes" => p.deps.obsoletes = parse_dependency_list(xml)?,
                "rpm:suggests" => p.deps.suggests = parse_dependency_list(xml)?,
                "rpm:enhances" => p.deps.enhances = parse_dependency_list(xml)?,
                "rpm:recommends" => p.deps.recommends = parse_dependency_list(xml)?,
                "rpm:supplements" => p.deps.supplements = parse_dependency_list(xml)?,
                "file" => p.files.push(parse_file(xml, &attrs)?),
                _ => xml.skip()?,
            },
            Ev::Text(_) => {}
            Ev::End => return Ok(()),
            Ev::Eof => return Err(xml.error("document ends early (truncated)")),
        }
    }
}

fn parse_filelists_package<R: BufRead>(
    xml: &mut XmlCursor<R>,
    attrs: &[(String, String)],
) -> Result<PackageFiles> {
    let mut p = PackageFiles {
        pkgid: xml.require(attrs, "pkgid")?.to_string(),
        name: xml.require(attrs, "name")?.to_string(),
        arch: xml.require(attrs, "arch")?.to_string(),
        ..PackageFiles::default()
    };
    loop {
        match xml.next()? {
            Ev::Start { name, attrs } => match name.as_str() {
                "version" => (p.epoch, p.version, p.release) = parse_version(xml, &attrs)?,
                "file" => p.files.push(parse_file(xml, &attrs)?),
                _ => xml.skip()?,
            },
            Ev::Text(_) => {}
            Ev::End => return Ok(p),
            Ev::Eof => return Err(xml.error("document ends early (truncated)")),
        }
    }
}

fn parse_repomd<R: BufRead>(xml: &mut XmlCursor<R>) -> Result<Repomd> {
    let mut repomd = Repomd {
        revision: String::new(),
        records: Vec::new(),
    };
    loop {
        match xml.next()? {
            Ev::Start { name, .. } if name == "repomd" => break,
            Ev::Start { name, .. } => {
                return Err(xml.error(format!("expected <repomd>, found <{name}>")));
            }
            Ev::Text(t) if t.trim().is_empty() => {}
            _ => return Err(xml.error("no <repomd> element")),
        }
    }
    loop {
        match xml.next()? {
            Ev::Start { name, attrs } => match name.as_str() {
                "revision" => repomd.revision = xml.text()?,
                "data" => {
                    let kind = xml.require(&attrs, "type")?.to_string();
                    // Name the record by its type in error messages.
                    if let Some(top) = xml.stack.last_mut() {
                        *top = format!("data[{kind}]");
                    }
                    repomd.records.push(parse_record(xml, kind)?);
                }
                _ => xml.skip()?,
            },
            Ev::Text(_) => {}
            Ev::End => return Ok(repomd),
            Ev::Eof => return Err(xml.error("document ends early (truncated)")),
        }
    }
}

fn parse_record<R: BufRead>(xml: &mut XmlCursor<R>, kind: String) -> Result<RepomdRecord> {
    let mut r = RepomdRecord {
        kind,
        checksum_type: String::new(),
        checksum: String::new(),
        open_checksum: None,
        location_href: String::new(),
        timestamp: 0,
        size: 0,
        open_size: None,
    };
    let mut has_size = false;
    loop {
        match xml.next()? {
            Ev::Start { name, attrs } => match name.as_str() {
                "checksum" => {
                    r.checksum_type = xml.require(&attrs, "type")?.to_string();
                    r.checksum = xml.text()?.trim().to_string();
                }
                "open-checksum" => r.open_checksum = Some(xml.text()?.trim().to_string()),
                "location" => {
                    r.location_href = xml.require(&attrs, "href")?.to_string();
                    xml.skip()?;
                }
                "timestamp" => r.timestamp = xml.number_text()?,
                "size" => {
                    r.size = xml.number_text()?;
                    has_size = true;
                }
                "open-size" => r.open_size = Some(xml.number_text()?),
                _ => xml.skip()?,
            },
            Ev::Text(_) => {}
            Ev::End => break,
            Ev::Eof => return Err(xml.error("document ends early (truncated)")),
        }
    }
    let place = format!("data[{}]", r.kind);
    for (missing, what) in [
        (r.checksum.is_empty(), "checksum"),
        (r.location_href.is_empty(), "location"),
        (!has_size, "size"),
    ] {
        if missing {
            return Err(Error::invalid(
                &xml.input,
                &place,
                format!("missing {what}"),
            ));
        }
    }
    if r.location_href.split('/').any(|c| c == "..") || r.location_href.starts_with('/') {
        return Err(Error::invalid(
            &xml.input,
            &place,
            format!("location {} leaves the repository", r.location_href),
        ));
    }
    Ok(r)
}
