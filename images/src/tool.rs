//! Running the external tools the image pipeline is made of.

use std::os::unix::fs::MetadataExt;
use std::process::{Command, Output};

use crate::error::{Error, Result};

/// Lines of a failing tool's stderr kept in the error.
const STDERR_TAIL_LINES: usize = 20;

/// Run `cmd` to completion; a start failure or non-zero exit becomes
/// [`Error::Tool`] naming `step` and the end of the tool's stderr.
pub(crate) fn run(cmd: &mut Command, step: &str) -> Result<Output> {
    let tool = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd.output().map_err(|e| Error::Tool {
        tool: tool.clone(),
        step: step.to_string(),
        message: format!("cannot start: {e}"),
    })?;
    if !out.status.success() {
        return Err(Error::Tool {
            tool,
            step: step.to_string(),
            message: format!("{}; stderr ends:\n{}", out.status, tail(&out.stderr)),
        });
    }
    Ok(out)
}

/// The last lines of `bytes` as text.
pub(crate) fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join("\n")
}

/// Whether this process runs as root. The owner of `/proc/self` is the
/// effective uid, which avoids an unsafe `geteuid` call.
pub(crate) fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// A command for `program` that sees file owners as they are inside the
/// image: run directly as root, otherwise inside a user namespace where
/// the caller is root and its subordinate ids map the rest, so that an
/// unprivileged build can extract and read a rootfs owned by many users.
pub(crate) fn as_image_root(program: &str) -> Command {
    if is_root() {
        Command::new(program)
    } else {
        let mut cmd = Command::new("unshare");
        cmd.args(["--map-auto", "--map-root-user", "--", program]);
        cmd
    }
}
