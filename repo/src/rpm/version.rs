//! RPM versions: `rpmvercmp` exactly as rpm implements it (including the
//! `~` pre-release and `^` post-release separators), `epoch:version-release`
//! triples and the comparison operators of dependencies.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

pub use crate::op::Op;
use crate::{Error, Result};

/// Compare two version (or release) strings the way rpm's `rpmvercmp` does.
///
/// The strings are split into runs of ASCII digits and ASCII letters; any
/// other byte separates runs. Numeric runs compare as numbers (leading zeros
/// ignored) and beat alphabetic runs; `~` sorts before everything, even the
/// end of the string; `^` sorts after the end of the string but before
/// anything else.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let at = |s: &[u8], k: usize| s.get(k).copied().unwrap_or(0);
    let is_sep = |c: u8| c != 0 && !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';

    while at(a, i) != 0 || at(b, j) != 0 {
        while is_sep(at(a, i)) {
            i += 1;
        }
        while is_sep(at(b, j)) {
            j += 1;
        }
        let (ca, cb) = (at(a, i), at(b, j));

        if ca == b'~' || cb == b'~' {
            if ca != b'~' {
                return Ordering::Greater;
            }
            if cb != b'~' {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }

        if ca == b'^' || cb == b'^' {
            if ca == 0 {
                return Ordering::Less;
            }
            if cb == 0 {
                return Ordering::Greater;
            }
            if ca != b'^' {
                return Ordering::Greater;
            }
            if cb != b'^' {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }

        if ca == 0 || cb == 0 {
            break;
        }

        let numeric = ca.is_ascii_digit();
        let in_run = |c: u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let (start_a, start_b) = (i, j);
        while in_run(at(a, i)) {
            i += 1;
        }
        while in_run(at(b, j)) {
            j += 1;
        }
        // `a` always has a run here (its first byte is alphanumeric); `b` may
        // not when the kinds differ, and then numbers beat letters.
        if start_b == j {
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (mut run_a, mut run_b) = (&a[start_a..i], &b[start_b..j]);
        if numeric {
            while let [b'0', rest @ ..] = run_a {
                run_a = rest;
            }
            while let [b'0', rest @ ..] = run_b {
                run_b = rest;
            }
            match run_a.len().cmp(&run_b.len()) {
                Ordering::Equal => {}
                other => return other,
            }
        }
        match run_a.cmp(run_b) {
            Ordering::Equal => {}
            other => return other,
        }
    }

    match (at(a, i), at(b, j)) {
        (0, 0) => Ordering::Equal,
        (0, _) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

/// rpm's `RPMSENSE_LESS`, `RPMSENSE_GREATER` and `RPMSENSE_EQUAL` bits.
const SENSE_LESS: u32 = 1 << 1;
const SENSE_GREATER: u32 = 1 << 2;
const SENSE_EQUAL: u32 = 1 << 3;

impl Op {
    /// The operator in rpm dependency flags (only the comparison bits are
    /// looked at); `None` when the dependency is unversioned or the bits do
    /// not form an operator (`<>`), as createrepo_c treats them.
    pub fn from_flags(flags: u32) -> Option<Op> {
        match flags & (SENSE_LESS | SENSE_GREATER | SENSE_EQUAL) {
            SENSE_LESS => Some(Op::Lt),
            f if f == SENSE_LESS | SENSE_EQUAL => Some(Op::Le),
            SENSE_EQUAL => Some(Op::Eq),
            f if f == SENSE_GREATER | SENSE_EQUAL => Some(Op::Ge),
            SENSE_GREATER => Some(Op::Gt),
            _ => None,
        }
    }

    /// The comparison bits of rpm dependency flags for this operator.
    pub fn to_flags(self) -> u32 {
        match self {
            Op::Lt => SENSE_LESS,
            Op::Le => SENSE_LESS | SENSE_EQUAL,
            Op::Eq => SENSE_EQUAL,
            Op::Ge => SENSE_GREATER | SENSE_EQUAL,
            Op::Gt => SENSE_GREATER,
        }
    }
}

impl FromStr for Op {
    type Err = Error;

    /// Accepts both the repodata (`GE`) and the spec (`>=`) spelling.
    fn from_str(s: &str) -> Result<Op> {
        Ok(match s {
            "LT" | "<" => Op::Lt,
            "LE" | "<=" => Op::Le,
            "EQ" | "=" | "==" => Op::Eq,
            "GE" | ">=" => Op::Ge,
            "GT" | ">" => Op::Gt,
            _ => {
                return Err(Error::invalid(
                    "dependency",
                    s,
                    "unknown comparison operator",
                ));
            }
        })
    }
}

/// An `[epoch:]version[-release]` triple.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct Evr {
    pub epoch: Option<u32>,
    pub version: String,
    pub release: Option<String>,
}

impl Evr {
    /// Build from parts.
    pub fn new(epoch: Option<u32>, version: impl Into<String>, release: Option<String>) -> Evr {
        Evr {
            epoch,
            version: version.into(),
            release,
        }
    }

    /// Parse `[epoch:]version[-release]` as rpm's `parseEVR` does: the epoch
    /// is the run of digits before a `:` (nothing else may precede it), the
    /// release is what follows the last `-`. An epoch that does not fit 32
    /// bits is an error.
    pub fn parse(s: &str) -> Result<Evr> {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let (epoch, rest) = match s.as_bytes().get(digits) {
            Some(b':') => {
                let e = &s[..digits];
                let epoch = if e.is_empty() {
                    None
                } else {
                    Some(e.parse::<u32>().map_err(|_| {
                        Error::invalid("version", s, "epoch is not a 32-bit number")
                    })?)
                };
                (epoch, &s[digits + 1..])
            }
            _ => (None, s),
        };
        let (version, release) = match rest.rfind('-') {
            Some(dash) => (&rest[..dash], Some(rest[dash + 1..].to_string())),
            None => (rest, None),
        };
        Ok(Evr {
            epoch,
            version: version.to_string(),
            release,
        })
    }

    /// The epoch, absent meaning 0 as everywhere in rpm.
    pub fn epoch_or_zero(&self) -> u32 {
        self.epoch.unwrap_or(0)
    }

    /// Compare as rpm orders package versions (`rpmverCmp`, lua's
    /// `rpm.vercmp`): epochs (absent = 0), then versions with
    /// [`rpmvercmp`], then releases, where a missing release sorts before
    /// any present one. This is a total order, used for sorting.
    pub fn compare(&self, other: &Evr) -> Ordering {
        self.compare_ignoring_release(other)
            .then_with(|| match (&self.release, &other.release) {
                (Some(a), Some(b)) => rpmvercmp(a, b),
                (a, b) => a.is_some().cmp(&b.is_some()),
            })
    }

    fn compare_ignoring_release(&self, other: &Evr) -> Ordering {
        self.epoch_or_zero()
            .cmp(&other.epoch_or_zero())
            .then_with(|| rpmvercmp(&self.version, &other.version))
    }

    /// Whether `self` (a package's or a provide's EVR) satisfies the
    /// constraint `op other`, e.g. `1.2-1` satisfies `>= 1.0`. As in rpm's
    /// `rpmdsCompare`, a side without a release matches any release, so
    /// `1.0-3` satisfies `= 1.0`.
    pub fn satisfies(&self, op: Op, other: &Evr) -> bool {
        let ord = match (&self.release, &other.release) {
            (Some(a), Some(b)) => self
                .compare_ignoring_release(other)
                .then_with(|| rpmvercmp(a, b)),
            _ => self.compare_ignoring_release(other),
        };
        op.satisfied_by(ord)
    }
}

impl fmt::Display for Evr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(e) = self.epoch {
            write!(f, "{e}:")?;
        }
        f.write_str(&self.version)?;
        if let Some(r) = &self.release {
            write!(f, "-{r}")?;
        }
        Ok(())
    }
}

impl FromStr for Evr {
    type Err = Error;

    fn from_str(s: &str) -> Result<Evr> {
        Evr::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn separators_and_runs() {
        for (a, b, want) in [
            ("1.0", "1.0", Equal),
            ("1.0", "2.0", Less),
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1", "1.0~rc2", Less),
            ("1.0^", "1.0", Greater),
            ("1.0^git1", "1.01", Less),
            ("1.0^git1", "1.0~rc1", Greater),
            ("1.0a", "1.0", Greater),
            ("1.0", "1.0a", Less),
            ("1a", "1.0", Less),
            ("010", "10", Equal),
            ("1.0", "1_0", Equal),
            ("a", "1", Less),
            ("1", "a", Greater),
            ("", "~", Greater),
            ("", "^", Less),
        ] {
            assert_eq!(rpmvercmp(a, b), want, "{a} vs {b}");
            assert_eq!(rpmvercmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn evr_parse_display_and_satisfy() {
        let e = Evr::parse("2:1.0-3.el9").unwrap();
        assert_eq!(e, Evr::new(Some(2), "1.0", Some("3.el9".into())));
        assert_eq!(e.to_string(), "2:1.0-3.el9");
        assert_eq!(Evr::parse("1.0").unwrap().to_string(), "1.0");
        assert_eq!(Evr::parse("a:1").unwrap().version, "a:1");
        assert!(Evr::parse("99999999999:1").is_err());
        let v = Evr::parse("1.2-1").unwrap();
        assert!(v.satisfies(Op::Ge, &Evr::parse("1.0").unwrap()));
        assert!(v.satisfies(Op::Eq, &Evr::parse("1.2").unwrap()));
        assert!(!v.satisfies(Op::Eq, &Evr::parse("1.2-2").unwrap()));
        assert!(!v.satisfies(Op::Gt, &Evr::parse("1:0.1").unwrap()));
        assert_eq!(
            Evr::parse("0:1")
                .unwrap()
                .compare(&Evr::parse("1").unwrap()),
            Equal
        );
    }

    #[test]
    fn op_flags_round_trip() {
        for op in [Op::Lt, Op::Le, Op::Eq, Op::Ge, Op::Gt] {
            assert_eq!(Op::from_flags(op.to_flags() | 0x100), Some(op));
            assert_eq!(op.repodata_flag().parse::<Op>().unwrap(), op);
            assert_eq!(op.rpm_symbol().parse::<Op>().unwrap(), op);
        }
        assert_eq!(Op::from_flags(0), None);
    }
}
