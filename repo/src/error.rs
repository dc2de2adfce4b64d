//! The one error type of pig-repo. Every variant names the input it came
//! from (a file path, or a name the caller gave for a buffer) and, where
//! there is one, the place inside it, so a message alone is enough to find
//! the problem.

use std::fmt;
use std::path::Path;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Text that does not parse: `input:line: message`.
    #[error("{input}:{line}: {message}")]
    Syntax {
        input: String,
        line: usize,
        message: String,
    },
    /// Well-formed input with wrong content (bad hash, missing field, bad
    /// header): `input: place: message`. `place` is a field, a member or an
    /// element path such as `control.tar.xz` or `primary.xml/package[3]/version`.
    #[error("{input}: {place}: {message}")]
    Invalid {
        input: String,
        place: String,
        message: String,
    },
    /// A signature that is missing, malformed, or does not verify.
    #[error("{input}: signature: {message}")]
    Signature { input: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub fn syntax(input: impl fmt::Display, line: usize, message: impl fmt::Display) -> Self {
        Error::Syntax {
            input: input.to_string(),
            line,
            message: message.to_string(),
        }
    }

    pub fn invalid(
        input: impl fmt::Display,
        place: impl fmt::Display,
        message: impl fmt::Display,
    ) -> Self {
        Error::Invalid {
            input: input.to_string(),
            place: place.to_string(),
            message: message.to_string(),
        }
    }

    pub fn signature(input: impl fmt::Display, message: impl fmt::Display) -> Self {
        Error::Signature {
            input: input.to_string(),
            message: message.to_string(),
        }
    }

    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

/// Attach a path to `std::io::Result`s.
pub trait IoContext<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl AsRef<Path>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
