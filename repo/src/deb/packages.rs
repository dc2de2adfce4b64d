//! `Packages` indexes: reading them stanza by stanza (any size, any
//! compression) and writing the stanza `apt-ftparchive packages` writes for a
//! `.deb`.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::compress::Compression;
use crate::deb::control::{Field, Paragraph, Paragraphs};
use crate::deb::debfile::DebFile;
use crate::error::IoContext;
use crate::{Error, Result};

/// One stanza of a `Packages` index, checked to have the fields every
/// binary package has and well-formed `Size` and checksums where present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageEntry {
    paragraph: Paragraph,
    size: Option<u64>,
}

impl PackageEntry {
    /// Check `p` (from `input`): Package, Version and Architecture are
    /// required, single-line and free of spaces; Size must be a number and
    /// MD5sum/SHA1/SHA256/SHA512 hex of the right length. Errors name the
    /// field and its line.
    pub fn from_paragraph(p: Paragraph, input: &str) -> Result<Self> {
        for name in ["Package", "Version", "Architecture"] {
            let value = p.require(name, input)?;
            if value.is_empty() || value.contains(char::is_whitespace) {
                let line = p.field(name).map_or(p.line, |f| f.line);
                return Err(Error::syntax(
                    input,
                    line,
                    format!("{name}: bad value {value:?}"),
                ));
            }
        }
        let size = match p.field("Size") {
            Some(f) => Some(f.value.parse::<u64>().map_err(|_| {
                Error::syntax(input, f.line, format!("Size: not a number: {:?}", f.value))
            })?),
            None => None,
        };
        for (name, len) in [
            ("MD5sum", 32),
            ("SHA1", 40),
            ("SHA256", 64),
            ("SHA512", 128),
        ] {
            if let Some(f) = p.field(name) {
                check_hex(f, len, input)?;
            }
        }
        Ok(PackageEntry { paragraph: p, size })
    }

    pub fn paragraph(&self) -> &Paragraph {
        &self.paragraph
    }

    pub fn into_paragraph(self) -> Paragraph {
        self.paragraph
    }

    /// Any field, by case-insensitive name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.paragraph.get(name)
    }

    /// 1-based line of the stanza in its input (0 if built in code).
    pub fn line(&self) -> usize {
        self.paragraph.line
    }

    pub fn name(&self) -> &str {
        self.get("Package").unwrap_or_default()
    }

    /// The version string as written (compare with `deb::version`).
    pub fn version(&self) -> &str {
        self.get("Version").unwrap_or_default()
    }

    pub fn architecture(&self) -> &str {
        self.get("Architecture").unwrap_or_default()
    }

    /// The source package name: `Source` without its `(version)`, or the
    /// package name when absent.
    pub fn source(&self) -> &str {
        match self.get("Source") {
            Some(s) => s.split_whitespace().next().unwrap_or(s),
            None => self.name(),
        }
    }

    /// Path of the `.deb` relative to the repository root.
    pub fn filename(&self) -> Option<&str> {
        self.get("Filename")
    }

    pub fn size(&self) -> Option<u64> {
        self.size
    }

    pub fn sha256(&self) -> Option<&str> {
        self.get("SHA256")
    }

    pub fn md5sum(&self) -> Option<&str> {
        self.get("MD5sum")
    }

    pub fn multi_arch(&self) -> Option<&str> {
        self.get("Multi-Arch")
    }

    pub fn depends(&self) -> Option<&str> {
        self.get("Depends")
    }

    pub fn pre_depends(&self) -> Option<&str> {
        self.get("Pre-Depends")
    }

    pub fn provides(&self) -> Option<&str> {
        self.get("Provides")
    }
}

fn check_hex(f: &Field, len: usize, input: &str) -> Result<()> {
    if f.value.len() == len && f.value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(Error::syntax(
            input,
            f.line,
            format!("{}: expected {len} hex digits, found {:?}", f.name, f.value),
        ))
    }
}

/// Streams the stanzas of a `Packages` file without holding it in memory.
pub struct PackagesReader<'a> {
    inner: Box<dyn BufRead + 'a>,
    input: String,
    /// Lines consumed so far.
    line: usize,
    chunk: String,
    failed: bool,
}

impl PackagesReader<'static> {
    /// Open `path`, decompressing gzip, xz or zstd (detected from the
    /// content, or from the name if the content is too short to tell).
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).at(path)?;
        let mut buffered = BufReader::new(file);
        let magic = buffered.fill_buf().at(path)?;
        let compression = match Compression::detect(magic) {
            Compression::None => Compression::from_path(path),
            c => c,
        };
        let reader = compression.reader(buffered).at(path)?;
        Ok(Self::new(reader, &path.display().to_string()))
    }
}

impl<'a> PackagesReader<'a> {
    /// Read stanzas from uncompressed `reader`; `input` names it in errors.
    pub fn new(reader: impl Read + 'a, input: &str) -> Self {
        PackagesReader {
            inner: Box::new(BufReader::with_capacity(1 << 16, reader)),
            input: input.to_string(),
            line: 0,
            chunk: String::new(),
            failed: false,
        }
    }

    /// The next stanza's text and its first line, or `None` at the end.
    fn next_chunk(&mut self) -> Result<Option<usize>> {
        self.chunk.clear();
        let mut first = 0;
        loop {
            let start = self.chunk.len();
            let n = match self.inner.read_line(&mut self.chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    return Err(Error::syntax(&self.input, self.line + 1, "not valid UTF-8"));
                }
                Err(e) => return Err(Error::io(&self.input, e)),
            };
            if n == 0 {
                return Ok((!self.chunk.is_empty()).then_some(first));
            }
            self.line += 1;
            if self.chunk[start..].trim().is_empty() {
                self.chunk.truncate(start);
                if !self.chunk.is_empty() {
                    return Ok(Some(first));
                }
            } else if start == 0 {
                first = self.line;
            }
        }
    }
}

impl Iterator for PackagesReader<'_> {
    type Item = Result<PackageEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let result = (|| loop {
            let Some(first) = self.next_chunk()? else {
                return Ok(None);
            };
            let offset = first - 1;
            let shift = |e: Error| match e {
                Error::Syntax {
                    input,
                    line,
                    message,
                } => Error::Syntax {
                    input,
                    line: line + offset,
                    message,
                },
                other => other,
            };
            // A chunk holds one stanza, or nothing but comments.
            let Some(mut p) = Paragraphs::new(&self.chunk, &self.input)
                .next()
                .transpose()
                .map_err(shift)?
            else {
                continue;
            };
            p.line += offset;
            for f in &mut p.fields {
                f.line += offset;
            }
            return PackageEntry::from_paragraph(p, &self.input).map(Some);
        })();
        match result {
            Ok(entry) => entry.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// Every stanza of the `Packages` file at `path`.
pub fn read_packages(path: &Path) -> Result<Vec<PackageEntry>> {
    PackagesReader::open(path)?.collect()
}

/// The field order `apt-ftparchive` writes (apt's `TFRewritePackageOrder`);
/// fields not listed follow in their control-file order.
const FIELD_ORDER: &[&str] = &[
    "Package",
    "Package-Type",
    "Architecture",
    "Subarchitecture",
    "Version",
    "Kernel-Version",
    "Built-Using",
    "Static-Built-Using",
    "Built-For-Profiles",
    "Auto-Built-Package",
    "Multi-Arch",
    "Status",
    "Priority",
    "Build-Essential",
    "Protected",
    "Important",
    "Essential",
    "Installer-Menu-Item",
    "Section",
    "Source",
    "Origin",
    "Phased-Update-Percentage",
    "Maintainer",
    "Original-Maintainer",
    "Bugs",
    "Config-Version",
    "Conffiles",
    "Triggers-Awaited",
    "Triggers-Pending",
    "Installed-Size",
    "Provides",
    "Pre-Depends",
    "Depends",
    "Recommends",
    "Suggests",
    "Conflicts",
    "Breaks",
    "Replaces",
    "Enhances",
    "Filename",
    "MSDOS-Filename",
    "Size",
    "MD5sum",
    "SHA1",
    "SHA256",
    "SHA512",
    "Homepage",
    "Description",
    "Description-md5",
    "Tag",
    "Task",
];

/// The `Packages` stanza for `deb` stored at `filename` (relative to the
/// repository root), exactly as `apt-ftparchive packages` writes it with
/// MD5 and SHA256 only (`-o APT::FTPArchive::SHA1=false -o
/// APT::FTPArchive::SHA512=false`) and no override file.
pub fn index_entry(deb: &DebFile, filename: &str, size: u64, md5: &str, sha256: &str) -> Paragraph {
    let control = &deb.control;
    // apt-ftparchive's rewrites; `None` removes the field. Without an
    // override file Priority and Section are rewritten to their own values,
    // which drops them when empty.
    let non_empty = |name: &str| {
        control
            .get(name)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let rewrites: [(&str, Option<String>); 8] = [
        ("Size", Some(size.to_string())),
        ("MD5sum", Some(md5.to_string())),
        ("SHA256", Some(sha256.to_string())),
        ("Filename", Some(filename.to_string())),
        ("Priority", non_empty("Priority")),
        ("Section", non_empty("Section")),
        ("Status", None),
        ("Optional", None),
    ];
    let rewrite = |name: &str| {
        rewrites
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let mut out = Paragraph::new();
    let mut push = |name: &str, value: String| {
        out.fields.push(Field {
            name: name.to_string(),
            value,
            line: 0,
        })
    };
    for name in FIELD_ORDER {
        let value = match rewrite(name) {
            Some(v) => v,
            None => control.get(name).map(str::to_string),
        };
        if let Some(v) = value {
            push(name, v);
        }
    }
    for f in &control.fields {
        if FIELD_ORDER.iter().any(|n| n.eq_ignore_ascii_case(&f.name)) {
            continue;
        }
        match rewrite(&f.name) {
            Some(Some(v)) => push(&f.name, v),
            Some(None) => {}
            None => push(&f.name, f.value.clone()),
        }
    }
    out
}

/// A `Packages` file: each stanza followed by a blank line, as apt-ftparchive
/// writes it.
pub fn write_packages(entries: &[Paragraph]) -> String {
    let mut out = String::new();
    for p in entries {
        p.write_to(&mut out);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# comment
Package: a
Version: 1.0
Architecture: amd64
Size: 10

Package: b
Version: 2
Architecture: all
Description: x
 y

";

    #[test]
    fn reads_stanzas_with_lines() {
        let v: Vec<_> = PackagesReader::new(TEXT.as_bytes(), "P")
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].size(), Some(10));
        assert_eq!(v[0].line(), 2);
        assert_eq!(v[1].line(), 7);
        assert_eq!(v[1].paragraph().field("Description").unwrap().line, 10);
        assert_eq!(v[1].source(), "b");
    }

    #[test]
    fn errors_name_field_and_line() {
        let text = TEXT.replace("Size: 10", "Size: ten");
        let e = PackagesReader::new(text.as_bytes(), "P")
            .collect::<Result<Vec<_>>>()
            .unwrap_err();
        assert_eq!(e.to_string(), "P:5: Size: not a number: \"ten\"");
        let text = TEXT.replace("Version: 2\n", "");
        let e = PackagesReader::new(text.as_bytes(), "P")
            .collect::<Result<Vec<_>>>()
            .unwrap_err();
        assert_eq!(e.to_string(), "P:7: paragraph has no Version field");
        let text = TEXT.replace(" y", "y");
        let e = PackagesReader::new(text.as_bytes(), "P")
            .collect::<Result<Vec<_>>>()
            .unwrap_err();
        assert!(e.to_string().starts_with("P:11: "), "{e}");
    }

    #[test]
    fn write_ends_each_stanza_with_blank_line() {
        let v: Vec<_> = PackagesReader::new(TEXT.as_bytes(), "P")
            .map(|e| e.unwrap().into_paragraph())
            .collect();
        assert_eq!(write_packages(&v), TEXT.replace("# comment\n", ""));
    }
}
