//! Writing files so that readers see the old content or the new, never a
//! half-written file: write a temporary file beside the target, flush it to
//! disk, then rename it over the target.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::error::{IoContext, Result};

/// Write `bytes` to `path` atomically, with mode 0644 (subject to umask).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    write_file_mode(path, bytes, 0o644)
}

/// Write `bytes` to `path` atomically with the given permission bits.
pub fn write_file_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".pig-")
        .suffix(".part")
        .tempfile_in(dir)
        .at(dir)?;
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))
        .at(tmp.path())?;
    tmp.write_all(bytes).at(tmp.path())?;
    tmp.as_file().sync_all().at(tmp.path())?;
    tmp.persist(path).map_err(|e| e.error).at(path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_content_and_sets_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_file(&path, b"one").unwrap();
        write_file_mode(&path, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // no temporary files left behind
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_directory_names_it() {
        let e = write_file(Path::new("/nonexistent-pig-dir/f"), b"x").unwrap_err();
        assert!(e.to_string().contains("/nonexistent-pig-dir"), "{e}");
    }
}
