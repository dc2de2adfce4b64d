//! `Release` files: the list of index files of a suite (or flat repository)
//! with their sizes and hashes, which `InRelease` signs.

use std::collections::HashMap;

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use crate::deb::control::{self, Field, Paragraph};
use crate::{Error, Result};

/// A checksum kind of a `Release` file, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashKind {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl HashKind {
    /// Every kind, weakest first.
    pub const ALL: [HashKind; 4] = [
        HashKind::Md5,
        HashKind::Sha1,
        HashKind::Sha256,
        HashKind::Sha512,
    ];

    /// The `Release` field that lists this kind.
    pub fn field_name(self) -> &'static str {
        match self {
            HashKind::Md5 => "MD5Sum",
            HashKind::Sha1 => "SHA1",
            HashKind::Sha256 => "SHA256",
            HashKind::Sha512 => "SHA512",
        }
    }

    /// The kind listed by field `name` (case-insensitive).
    pub fn from_field_name(name: &str) -> Option<HashKind> {
        HashKind::ALL
            .into_iter()
            .find(|k| k.field_name().eq_ignore_ascii_case(name))
    }

    /// Length of the lower-case hex digest.
    pub fn hex_len(self) -> usize {
        match self {
            HashKind::Md5 => 32,
            HashKind::Sha1 => 40,
            HashKind::Sha256 => 64,
            HashKind::Sha512 => 128,
        }
    }

    /// Lower-case hex digest of `data`.
    pub fn digest(self, data: &[u8]) -> String {
        match self {
            HashKind::Md5 => hex::encode(Md5::digest(data)),
            HashKind::Sha1 => hex::encode(Sha1::digest(data)),
            HashKind::Sha256 => hex::encode(Sha256::digest(data)),
            HashKind::Sha512 => hex::encode(Sha512::digest(data)),
        }
    }

    /// Whether apt trusts this kind alone to verify a file.
    pub fn is_strong(self) -> bool {
        matches!(self, HashKind::Sha256 | HashKind::Sha512)
    }
}

/// One file listed in a `Release`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseFile {
    /// Path relative to the directory of the `Release` file.
    pub path: String,
    pub size: u64,
    /// Lower-case hex digests, at most one per kind.
    pub hashes: Vec<(HashKind, String)>,
}

impl ReleaseFile {
    pub fn hash(&self, kind: HashKind) -> Option<&str> {
        self.hashes
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, h)| h.as_str())
    }
}

/// A `Release` file: its plain fields (Origin, Suite, Date, ...) in order,
/// and the files its checksum fields list, merged by path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// Every field but the checksum lists.
    pub fields: Paragraph,
    pub files: Vec<ReleaseFile>,
}

impl Release {
    /// Parse an unsigned `Release` (or the signed text of an `InRelease`).
    /// Errors name `input` and the line.
    pub fn parse(text: &str, input: &str) -> Result<Release> {
        let paragraph = control::parse_one(text, input)?;
        let mut fields = Paragraph {
            fields: Vec::new(),
            line: paragraph.line,
        };
        let mut files: Vec<ReleaseFile> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for field in paragraph.fields {
            let Some(kind) = HashKind::from_field_name(&field.name) else {
                fields.fields.push(field);
                continue;
            };
            for (i, entry) in field.value.split('\n').enumerate() {
                if entry.trim().is_empty() {
                    continue;
                }
                let line = field.line + i;
                let bad =
                    |msg: String| Error::syntax(input, line, format!("{}: {msg}", field.name));
                let mut parts = entry.split_whitespace();
                let (Some(hash), Some(size), Some(path), None) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                else {
                    return Err(bad("expected `<hash> <size> <path>`".into()));
                };
                if hash.len() != kind.hex_len() || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad(format!(
                        "expected {} hex digits, found {hash:?}",
                        kind.hex_len()
                    )));
                }
                let size: u64 = size
                    .parse()
                    .map_err(|_| bad(format!("size {size:?} is not a number")))?;
                let hash = hash.to_ascii_lowercase();
                match index.get(path) {
                    Some(&at) => {
                        let file = &mut files[at];
                        if file.size != size {
                            return Err(bad(format!(
                                "{path}: size {size} differs from {} given before",
                                file.size
                            )));
                        }
                        if file.hash(kind).is_some() {
                            return Err(bad(format!("{path} is listed twice")));
                        }
                        file.hashes.push((kind, hash));
                    }
                    None => {
                        index.insert(path.to_string(), files.len());
                        files.push(ReleaseFile {
                            path: path.to_string(),
                            size,
                            hashes: vec![(kind, hash)],
                        });
                    }
                }
            }
        }
        Ok(Release { fields, files })
    }

    /// A `Release` with `fields` listing `files` (path relative to the
    /// `Release`, content), sorted by path, with every hash kind computed.
    pub fn for_files(
        fields: Paragraph,
        files: impl IntoIterator<Item = (String, Vec<u8>)>,
    ) -> Release {
        let mut files: Vec<ReleaseFile> = files
            .into_iter()
            .map(|(path, bytes)| ReleaseFile {
                size: bytes.len() as u64,
                hashes: HashKind::ALL
                    .into_iter()
                    .map(|k| (k, k.digest(&bytes)))
                    .collect(),
                path,
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let mut fields = fields;
        fields
            .fields
            .retain(|f| HashKind::from_field_name(&f.name).is_none());
        Release { fields, files }
    }

    /// [`format_date`], reachable from the type as well.
    pub fn format_date(unix: i64) -> String {
        format_date(unix)
    }

    /// Set `Date` to `unix` seconds, formatted as apt writes it. A new
    /// field goes after Origin/Label/Suite/Version/Codename, where
    /// apt-ftparchive puts it.
    pub fn set_date(&mut self, unix: i64) {
        let value = format_date(unix);
        if self.fields.get("Date").is_some() {
            self.fields.set("Date", value);
            return;
        }
        let at = self
            .fields
            .fields
            .iter()
            .rposition(|f| {
                ["Origin", "Label", "Suite", "Version", "Codename"]
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(&f.name))
            })
            .map_or(0, |i| i + 1);
        self.fields.fields.insert(
            at,
            Field {
                name: "Date".into(),
                value,
                line: 0,
            },
        );
    }

    /// The `Release` text with the checksum lists of `kinds`, in the order
    /// MD5Sum, SHA1, SHA256, SHA512 whatever the order of `kinds`. Sizes
    /// are right-aligned in 16 columns, as apt-ftparchive writes them.
    pub fn write(&self, kinds: &[HashKind]) -> String {
        let mut out = String::new();
        self.fields.write_to(&mut out);
        for kind in HashKind::ALL {
            if !kinds.contains(&kind) {
                continue;
            }
            out.push_str(kind.field_name());
            out.push_str(":\n");
            for f in &self.files {
                if let Some(h) = f.hash(kind) {
                    out.push_str(&format!(" {h} {:>16} {}\n", f.size, f.path));
                }
            }
        }
        out
    }

    /// Where apt looks for each file by hash when the `Release` says
    /// `Acquire-By-Hash: yes`: `<dir>/by-hash/SHA256/<hex>`, one per file
    /// with a SHA256 (empty otherwise).
    pub fn by_hash_paths(&self) -> Vec<String> {
        let enabled = self
            .fields
            .get("Acquire-By-Hash")
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("yes"));
        if !enabled {
            return Vec::new();
        }
        self.files
            .iter()
            .filter_map(|f| {
                let hash = f.hash(HashKind::Sha256)?;
                Some(match f.path.rsplit_once('/') {
                    Some((dir, _)) => format!("{dir}/by-hash/SHA256/{hash}"),
                    None => format!("by-hash/SHA256/{hash}"),
                })
            })
            .collect()
    }

    /// Check `bytes` against the entry for `path` using its strongest hash
    /// and its size. Refuses files listed with MD5 or SHA1 only, as apt
    /// does. `input` names the `Release` in errors.
    pub fn verify_file(&self, path: &str, bytes: &[u8], input: &str) -> Result<()> {
        let file = self
            .files
            .iter()
            .find(|f| f.path == path)
            .ok_or_else(|| Error::invalid(input, path, "not listed in the Release file"))?;
        let Some((kind, expected)) = file
            .hashes
            .iter()
            .filter(|(k, _)| k.is_strong())
            .max_by_key(|(k, _)| *k)
        else {
            return Err(Error::invalid(
                input,
                path,
                "listed with MD5Sum/SHA1 only, which are too weak to trust",
            ));
        };
        if bytes.len() as u64 != file.size {
            return Err(Error::invalid(
                input,
                path,
                format!("size mismatch: expected {}, got {}", file.size, bytes.len()),
            ));
        }
        let actual = kind.digest(bytes);
        if &actual != expected {
            return Err(Error::invalid(
                input,
                path,
                format!(
                    "{} mismatch: expected {expected}, got {actual}",
                    kind.field_name()
                ),
            ));
        }
        Ok(())
    }
}

/// `unix` seconds as RFC 2822 in UTC, the way apt writes `Date`:
/// `Sat, 01 Jan 2000 00:00:00 UTC`.
pub fn format_date(unix: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{}, {day:02} {} {year:04} {:02}:{:02}:{:02} UTC",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Proleptic Gregorian (year, month 1..=12, day) of a day count since
/// 1970-01-01 (Howard Hinnant's algorithm), total over all of i64.
fn civil_from_days(days: i64) -> (i128, i64, i64) {
    let z = i128::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as i64;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as i64;
    let year = yoe + era * 400 + i128::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_dates_like_apt() {
        assert_eq!(format_date(946_684_800), "Sat, 01 Jan 2000 00:00:00 UTC");
        assert_eq!(format_date(0), "Thu, 01 Jan 1970 00:00:00 UTC");
        assert_eq!(format_date(1_795_832_135), "Sat, 28 Nov 2026 02:15:35 UTC");
        assert_eq!(format_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 UTC");
        assert_eq!(format_date(-1), "Wed, 31 Dec 1969 23:59:59 UTC");
        // Total: no panic at the extremes.
        format_date(i64::MIN);
        format_date(i64::MAX);
    }

    #[test]
    fn round_trips_and_verifies() {
        let fields =
            control::parse_one("Origin: pig\nSuite: stable\nAcquire-By-Hash: yes\n", "f").unwrap();
        let mut r = Release::for_files(
            fields,
            [
                ("main/Packages".to_string(), b"abc".to_vec()),
                ("Packages.gz".to_string(), b"".to_vec()),
            ],
        );
        r.set_date(946_684_800);
        let text = r.write(&[HashKind::Sha256, HashKind::Md5]);
        assert!(
            text.starts_with("Origin: pig\nSuite: stable\nDate: Sat, 01 Jan 2000 00:00:00 UTC\n"),
            "{text}"
        );
        assert!(text.contains("\n ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad                3 main/Packages\n"), "{text}");
        let back = Release::parse(&text, "Release").unwrap();
        assert_eq!(back.files.len(), 2);
        assert_eq!(back.files[1].hashes.len(), 2);
        back.verify_file("main/Packages", b"abc", "Release")
            .unwrap();
        let e = back
            .verify_file("main/Packages", b"abd", "Release")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Release: main/Packages: SHA256 mismatch: expected ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad, got a52d159f262b2c6ddb724a61840befc36eb30c88877a4030b65cbe86298449c9"
        );
        assert_eq!(
            back.by_hash_paths(),
            [
                "by-hash/SHA256/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "main/by-hash/SHA256/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            ]
        );
        let weak = Release::parse(&r.write(&[HashKind::Md5]), "R").unwrap();
        let e = weak.verify_file("main/Packages", b"abc", "R").unwrap_err();
        assert!(e.to_string().contains("too weak"), "{e}");
    }

    #[test]
    fn parse_errors_name_line() {
        let text = "Origin: x\nSHA256:\n e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 0 a\n zz 0 b\n";
        let e = Release::parse(text, "R").unwrap_err();
        assert_eq!(
            e.to_string(),
            "R:4: SHA256: expected 64 hex digits, found \"zz\""
        );
        let text = "MD5Sum:\n d41d8cd98f00b204e9800998ecf8427e 0 a\nSHA256:\n e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 1 a\n";
        let e = Release::parse(text, "R").unwrap_err();
        assert!(
            e.to_string().starts_with("R:4: SHA256: a: size 1 differs"),
            "{e}"
        );
    }
}
