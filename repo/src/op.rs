//! The version comparison operator shared by Debian relations, RPM
//! dependencies and the resolver. Each format spells it its own way.

use std::cmp::Ordering;

/// A version relation operator: `candidate OP bound`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Op {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

impl Op {
    /// Whether a candidate whose comparison with the bound is `ord`
    /// (`candidate.cmp(bound)`) satisfies this operator.
    pub fn satisfied_by(self, ord: Ordering) -> bool {
        match self {
            Op::Lt => ord == Ordering::Less,
            Op::Le => ord != Ordering::Greater,
            Op::Eq => ord == Ordering::Equal,
            Op::Ge => ord != Ordering::Less,
            Op::Gt => ord == Ordering::Greater,
        }
    }

    /// Debian's canonical spelling: `<<`, `<=`, `=`, `>=`, `>>`.
    pub fn deb_symbol(self) -> &'static str {
        match self {
            Op::Lt => "<<",
            Op::Le => "<=",
            Op::Eq => "=",
            Op::Ge => ">=",
            Op::Gt => ">>",
        }
    }

    /// The RPM spec-file spelling: `<`, `<=`, `=`, `>=`, `>`.
    pub fn rpm_symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "=",
            Op::Ge => ">=",
            Op::Gt => ">",
        }
    }

    /// The repodata `flags` spelling: `LT`, `LE`, `EQ`, `GE`, `GT`.
    pub fn repodata_flag(self) -> &'static str {
        match self {
            Op::Lt => "LT",
            Op::Le => "LE",
            Op::Eq => "EQ",
            Op::Ge => "GE",
            Op::Gt => "GT",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn satisfied_by_each_ordering() {
        let table = [
            (Op::Lt, [true, false, false]),
            (Op::Le, [true, true, false]),
            (Op::Eq, [false, true, false]),
            (Op::Ge, [false, true, true]),
            (Op::Gt, [false, false, true]),
        ];
        for (op, want) in table {
            let got =
                [Ordering::Less, Ordering::Equal, Ordering::Greater].map(|o| op.satisfied_by(o));
            assert_eq!(got, want, "{op:?}");
        }
    }
}
