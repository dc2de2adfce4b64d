//! Errors a caller of the seed model matches on.

use std::fmt;
use std::path::PathBuf;

/// Why a seed could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The text is not well-formed YAML.
    #[error("{input}:{line}:{column}: {message}")]
    Syntax {
        /// File name or other label of the text.
        input: String,
        /// 1-based line of the error, 0 if unknown.
        line: u64,
        /// 1-based column of the error, 0 if unknown.
        column: u64,
        /// The parser's message.
        message: String,
    },
    /// Well-formed YAML that is not a valid seed; every problem found is listed.
    #[error("{}", Problems { input, problems })]
    Invalid {
        /// File name or other label of the text.
        input: String,
        /// The problems, in document order.
        problems: Vec<Problem>,
    },
    /// No inventory host matches this node.
    #[error(
        "{input}: this node ({wanted}) matches no host of the inventory; its hosts are: {}",
        hosts.join(", ")
    )]
    NoMatch {
        /// File name or other label of the seed.
        input: String,
        /// The addresses and host name that were looked for.
        wanted: String,
        /// Every host of the inventory, with its `nodename` when set.
        hosts: Vec<String>,
    },
    /// The seed file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

/// One problem in a seed, at a YAML path such as
/// `all.children.pg-test.vars.pg_cluster`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted YAML path, list items as `[i]`.
    pub path: String,
    /// 1-based line, 0 when the problem has no single place (a missing key).
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

struct Problems<'a> {
    input: &'a str,
    problems: &'a [Problem],
}

impl fmt::Display for Problems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            if p.line > 0 {
                write!(f, "{}:{}: {}: {}", self.input, p.line, p.path, p.message)?;
            } else {
                write!(f, "{}: {}: {}", self.input, p.path, p.message)?;
            }
        }
        Ok(())
    }
}
