//! The error type of pig-images. Every variant names what failed (a file,
//! an external tool and the step it was run for) so the message alone is
//! enough to find the problem.

use std::path::Path;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// An external tool could not be started or exited with an error.
    #[error("{tool} ({step}) failed: {message}")]
    Tool {
        tool: String,
        step: String,
        message: String,
    },
    /// Input that is well-formed but unusable (no kernel in the rootfs, a
    /// disk too small for its partitions, a bad apt source line).
    #[error("{input}: {place}: {message}")]
    Invalid {
        input: String,
        place: String,
        message: String,
    },
    /// A boot check ran out of time before the marker appeared.
    #[error(
        "{image}: no {marker:?} on the serial console within {seconds} s; console ends with:\n{log_tail}"
    )]
    BootTimeout {
        image: String,
        marker: String,
        seconds: u64,
        log_tail: String,
    },
    /// Errors from pig-repo's parsers (apt sources in deb822 form).
    #[error(transparent)]
    Repo(#[from] pig_repo::Error),
}

impl Error {
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    pub fn invalid(
        input: impl std::fmt::Display,
        place: impl std::fmt::Display,
        message: impl std::fmt::Display,
    ) -> Self {
        Error::Invalid {
            input: input.to_string(),
            place: place.to_string(),
            message: message.to_string(),
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
