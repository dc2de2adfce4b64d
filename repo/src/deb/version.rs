//! Debian package versions, `[epoch:]upstream[-revision]`, parsed and ordered
//! exactly as dpkg does (`parseversion` and `verrevcmp` in dpkg's
//! `lib/dpkg/parsehelp.c` and `lib/dpkg/version.c`).
//!
//! Equality is dpkg's: two versions are equal when dpkg compares them equal,
//! so `1.0`, `0:1.0`, `1.0-0` and `1.00` are all the same version, and
//! [`Hash`] agrees with that. The text as written is kept for [`Display`].

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::{Error, Result};

/// dpkg keeps the epoch in a C `int`.
const MAX_EPOCH: u32 = i32::MAX as u32;

/// A valid Debian version. Construct with [`Version::parse_in`] or
/// [`str::parse`].
#[derive(Debug, Clone)]
pub struct Version {
    /// The version as written, without surrounding blanks.
    text: String,
    epoch: u32,
    /// Byte range of the upstream part in `text`; the revision, if any,
    /// follows the `-` at `upstream_end`.
    upstream_start: usize,
    upstream_end: usize,
}

impl Version {
    /// Parse `text` with dpkg's rules. Errors name `input` (a file, say) and
    /// `place` (a field or stanza) and use dpkg's wording.
    pub fn parse_in(text: &str, input: &str, place: &str) -> Result<Version> {
        parse_str(text).map_err(|msg| Error::invalid(input, place, format!("{text:?}: {msg}")))
    }

    /// The epoch, 0 when the version has none.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The upstream version: between the epoch's colon and the last hyphen.
    pub fn upstream(&self) -> &str {
        &self.text[self.upstream_start..self.upstream_end]
    }

    /// The Debian revision after the last hyphen, or `""` when there is none.
    pub fn revision(&self) -> &str {
        self.text.get(self.upstream_end + 1..).unwrap_or("")
    }

    /// The version as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// The parts of a version string as dpkg splits it, before validation.
struct Parts<'a> {
    /// Digits before the first colon, if there is a colon.
    epoch: Option<&'a str>,
    upstream: &'a str,
    revision: Option<&'a str>,
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn split(text: &str) -> Parts<'_> {
    let (epoch, rest) = match text.split_once(':') {
        Some((epoch, rest)) => (Some(epoch), rest),
        None => (None, text),
    };
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((upstream, revision)) => (upstream, Some(revision)),
        None => (rest, None),
    };
    Parts {
        epoch,
        upstream,
        revision,
    }
}

/// dpkg's `parseversion`, with its messages. Its warnings (a version not
/// starting with a digit, a bad character) are errors here: such versions
/// are refused by the archive and by `dpkg-deb --build`.
pub(crate) fn parse_str(text: &str) -> std::result::Result<Version, &'static str> {
    let text = text.trim_matches(is_blank);
    if text.is_empty() {
        return Err("version string is empty");
    }
    if text.contains(is_blank) {
        return Err("version string has embedded spaces");
    }
    let parts = split(text);
    let mut epoch = 0;
    if let Some(digits) = parts.epoch {
        if digits.is_empty() {
            return Err("epoch in version is empty");
        }
        if let Some(magnitude) = digits.strip_prefix('-')
            && !magnitude.is_empty()
            && magnitude.bytes().all(|b| b.is_ascii_digit())
        {
            return Err("epoch in version is negative");
        }
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("epoch in version is not number");
        }
        epoch = match digits.parse::<u32>() {
            Ok(n) if n <= MAX_EPOCH => n,
            _ => return Err("epoch in version is too big"),
        };
        if parts.upstream.is_empty() && parts.revision.is_none() {
            return Err("nothing after colon in version number");
        }
    }
    if parts.revision == Some("") {
        return Err("revision number is empty");
    }
    let upstream = parts.upstream.as_bytes();
    let Some(first) = upstream.first() else {
        return Err("upstream version is empty");
    };
    if !first.is_ascii_digit() {
        return Err("version number does not start with digit");
    }
    if !upstream
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b".-+~:".contains(&b))
    {
        return Err("invalid character in version number");
    }
    if let Some(revision) = parts.revision
        && !revision
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".+~".contains(&b))
    {
        return Err("invalid character in revision number");
    }
    let upstream_start = parts.epoch.map_or(0, |e| e.len() + 1);
    Ok(Version {
        text: text.to_string(),
        epoch,
        upstream_start,
        upstream_end: upstream_start + parts.upstream.len(),
    })
}

/// Compare two version strings with dpkg's rules without validating them,
/// as `dpkg --compare-versions` does for well-formed input. An epoch that is
/// not all digits is taken as part of the upstream version; epochs compare
/// as numbers of any size.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (lenient(a), lenient(b));
    compare_numbers(a.epoch.unwrap_or(""), b.epoch.unwrap_or(""))
        .then_with(|| verrevcmp(a.upstream, b.upstream))
        .then_with(|| verrevcmp(a.revision.unwrap_or(""), b.revision.unwrap_or("")))
}

fn lenient(text: &str) -> Parts<'_> {
    let text = text.trim_matches(is_blank);
    let parts = split(text);
    match parts.epoch {
        Some(e) if !e.bytes().all(|b| b.is_ascii_digit()) => {
            let (upstream, revision) = match text.rsplit_once('-') {
                Some((u, r)) => (u, Some(r)),
                None => (text, None),
            };
            Parts {
                epoch: None,
                upstream,
                revision,
            }
        }
        _ => parts,
    }
}

/// dpkg's weight of a byte in a non-digit run: `~` sorts before everything,
/// even the end of the string; letters sort before all other characters.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// Compare two digit strings as numbers, however long.
fn compare_numbers(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// dpkg's `verrevcmp`: alternate runs of non-digits (compared byte by byte
/// with [`order`]) and runs of digits (compared as numbers).
fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    while !a.is_empty() || !b.is_empty() {
        loop {
            let (ca, cb) = (a.first().copied(), b.first().copied());
            let a_text = ca.is_some_and(|c| !c.is_ascii_digit());
            let b_text = cb.is_some_and(|c| !c.is_ascii_digit());
            if !a_text && !b_text {
                break;
            }
            let ord = order(ca).cmp(&order(cb));
            if ord != Ordering::Equal {
                return ord;
            }
            // Equal weights with one side text means both sides are text.
            a = a.get(1..).unwrap_or_default();
            b = b.get(1..).unwrap_or_default();
        }
        let da = digit_run(a);
        let db = digit_run(b);
        // Both runs are ASCII digits, so the byte slices are valid str.
        let ord = compare_numbers(
            std::str::from_utf8(&a[..da]).unwrap_or(""),
            std::str::from_utf8(&b[..db]).unwrap_or(""),
        );
        if ord != Ordering::Equal {
            return ord;
        }
        a = &a[da..];
        b = &b[db..];
    }
    Ordering::Equal
}

fn digit_run(s: &[u8]) -> usize {
    s.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// Feed `s` to `state` so that strings [`verrevcmp`] finds equal hash
/// equally: each non-digit run as is, each digit run without leading zeros.
/// The leading (possibly empty) non-digit run and the number after it are
/// always present, so `""` and `"0"` both hash as one empty pair.
fn hash_verrev<H: Hasher>(s: &str, state: &mut H) {
    let mut rest = s.as_bytes();
    loop {
        let text = rest.iter().take_while(|b| !b.is_ascii_digit()).count();
        let (run, after) = rest.split_at(text);
        let digits = digit_run(after);
        let (number, after) = after.split_at(digits);
        let number = &number[number.iter().take_while(|&&b| b == b'0').count()..];
        state.write_usize(run.len());
        state.write(run);
        state.write_usize(number.len());
        state.write(number);
        rest = after;
        if rest.is_empty() {
            break;
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(self.upstream(), other.upstream()))
            .then_with(|| verrevcmp(self.revision(), other.revision()))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u32(self.epoch);
        hash_verrev(self.upstream(), state);
        hash_verrev(self.revision(), state);
    }
}

impl FromStr for Version {
    type Err = Error;

    fn from_str(s: &str) -> Result<Version> {
        Version::parse_in(s, "<text>", "version")
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        parse_str(&text)
            .map_err(|msg| serde::de::Error::custom(format_args!("version {text:?}: {msg}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    fn hash(v: &Version) -> u64 {
        let mut h = DefaultHasher::new();
        v.hash(&mut h);
        h.finish()
    }

    #[test]
    fn splits_parts() {
        let x = v("2:1.0:rc-1-3+b1");
        assert_eq!(
            (x.epoch(), x.upstream(), x.revision()),
            (2, "1.0:rc-1", "3+b1")
        );
        let x = v("1.0");
        assert_eq!((x.epoch(), x.upstream(), x.revision()), (0, "1.0", ""));
        let x = v(" 1.0-1\t");
        assert_eq!(x.as_str(), "1.0-1");
        assert_eq!(x.to_string(), "1.0-1");
    }

    #[test]
    fn orders_like_dpkg() {
        let ascending = [
            "1.0~~", "1.0~~a", "1.0~", "1.0~rc1", "1.0", "1.0-1", "1.0a", "1.0+b1", "1.0.1", "1.1",
            "1.10", "1:0.1", "2:0",
        ];
        for w in ascending.windows(2) {
            assert!(v(w[0]) < v(w[1]), "{} < {}", w[0], w[1]);
            assert_eq!(compare(w[0], w[1]), Ordering::Less);
        }
    }

    #[test]
    fn equality_and_hash_agree() {
        for (a, b) in [
            ("1.0", "0:1.0"),
            ("1.0", "1.0-0"),
            ("1.0", "1.00"),
            ("1.01", "1.1"),
            ("1.", "1.0"),
            ("1a", "1a0"),
            ("1.0-1", "1.0-01"),
        ] {
            assert_eq!(v(a), v(b), "{a} == {b}");
            assert_eq!(hash(&v(a)), hash(&v(b)), "hash {a} {b}");
            assert_eq!(compare(a, b), Ordering::Equal);
        }
        assert_ne!(v("1.0"), v("1.0.0"));
    }

    #[test]
    fn huge_numbers_compare_without_overflow() {
        assert!(v("99999999999999999999999") < v("100000000000000000000000"));
        assert_eq!(
            compare("99999999999999999999:1", "100000000000000000000:0"),
            Ordering::Less
        );
    }

    #[test]
    fn rejects_like_dpkg() {
        for (text, msg) in [
            ("", "version string is empty"),
            ("  ", "version string is empty"),
            ("1 2", "version string has embedded spaces"),
            (":1", "epoch in version is empty"),
            ("a:1", "epoch in version is not number"),
            ("-1:1", "epoch in version is negative"),
            ("2147483648:1", "epoch in version is too big"),
            ("1:", "nothing after colon in version number"),
            ("1.0-", "revision number is empty"),
            ("1:-1", "upstream version is empty"),
            ("-1", "upstream version is empty"),
            ("a1", "version number does not start with digit"),
            ("1_0", "invalid character in version number"),
            ("1é", "invalid character in version number"),
            ("1-a:b", "epoch in version is not number"),
            ("1-a=b", "invalid character in revision number"),
        ] {
            let e = Version::parse_in(text, "Packages", "Version").unwrap_err();
            assert_eq!(e.to_string(), format!("Packages: Version: {text:?}: {msg}"));
        }
        assert_eq!(v("2147483647:1").epoch(), 2147483647);
    }

    #[test]
    fn deserializes_from_string() {
        use serde::Deserialize;
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error as ValueError, StrDeserializer};
        let de: StrDeserializer<'_, ValueError> = "1:2.0-3".into_deserializer();
        assert_eq!(Version::deserialize(de).unwrap().as_str(), "1:2.0-3");
        let de: StrDeserializer<'_, ValueError> = "x".into_deserializer();
        let e = Version::deserialize(de).unwrap_err();
        assert!(e.to_string().contains("does not start with digit"), "{e}");
    }
}
