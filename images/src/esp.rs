//! The EFI system partition as a FAT image file: mkfs.vfat on a file, then
//! mtools (`mmd`, `mcopy -i`) to fill it. No mount, no loop device.
//!
//! Reproducibility: mkfs.vfat `--invariant` with the serial given, mtools
//! under `SOURCE_DATE_EPOCH`, and copied files carrying that time (`-m`).

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::error::{IoContext, Result};
use crate::tool;

/// A file to put on the ESP: its path there (`EFI/BOOT/BOOTX64.EFI`) and
/// its source on the host.
#[derive(Debug, Clone)]
pub struct EspFile<'a> {
    pub dest: &'a str,
    pub source: &'a Path,
}

/// Make the FAT image `out` of `size_bytes` with volume serial `serial`
/// (8 hex digits) holding `files`. The source files' modification times
/// are set to `epoch` first, since mcopy copies them onto the ESP.
pub fn make(
    out: &Path,
    size_bytes: u64,
    serial: &str,
    epoch: u64,
    files: &[EspFile],
) -> Result<()> {
    let _ = fs::remove_file(out);
    tool::run(
        Command::new("mkfs.vfat")
            .env("SOURCE_DATE_EPOCH", epoch.to_string())
            .args(["--invariant", "-i", serial, "-n", "EFI", "-C"])
            .arg(out)
            .arg((size_bytes / 1024).to_string()),
        "making the ESP file system",
    )?;
    let mut dirs: Vec<String> = Vec::new();
    for f in files {
        let mut acc = String::new();
        let parts: Vec<&str> = f.dest.split('/').filter(|p| !p.is_empty()).collect();
        for part in parts.iter().take(parts.len().saturating_sub(1)) {
            acc.push('/');
            acc.push_str(part);
            if !dirs.contains(&acc) {
                dirs.push(acc.clone());
            }
        }
    }
    for dir in &dirs {
        tool::run(
            mtools("mmd", epoch)
                .arg("-i")
                .arg(out)
                .arg(format!("::{dir}")),
            "making an ESP directory",
        )?;
    }
    for f in files {
        // mcopy -m keeps the source's time: make it the epoch.
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(epoch);
        fs::File::options()
            .write(true)
            .open(f.source)
            .and_then(|h| h.set_modified(t))
            .at(f.source)?;
        tool::run(
            mtools("mcopy", epoch)
                .args(["-m", "-o", "-i"])
                .arg(out)
                .arg(f.source)
                .arg(format!("::/{}", f.dest.trim_start_matches('/'))),
            "copying a file onto the ESP",
        )?;
    }
    Ok(())
}

/// An mtools command that neither reads the user's config nor the clock.
fn mtools(program: &str, epoch: u64) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("SOURCE_DATE_EPOCH", epoch.to_string())
        .env("MTOOLS_SKIP_CHECK", "1")
        .env("MTOOLSRC", "/dev/null");
    cmd
}
