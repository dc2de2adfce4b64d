//! The live system the ISO and the PXE set boot: the rootfs as a squashfs
//! image for Debian's live-boot (`boot=live`), with the kernel and initrd
//! taken out of it. The rootfs must include the `live-boot` package, whose
//! initramfs hook finds and mounts `live/filesystem.squashfs` (from the
//! boot medium, or fetched with `fetch=URL`) under a tmpfs overlay.
//!
//! Reproducibility: mksquashfs is reproducible by default and takes every
//! time stamp from `SOURCE_DATE_EPOCH`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::disk::{Embed, find_kernel};
use crate::error::{Error, IoContext, Result};
use crate::ext4;
use crate::tool::{self, as_image_root};

/// The kernel arguments that make live-boot's initramfs boot the squashfs.
pub const LIVE_ARGS: &str = "boot=live";
/// Where live-boot looks for the root image on a medium.
pub const SQUASHFS_PATH: &str = "live/filesystem.squashfs";

/// The pieces of a live system, as files in the caller's work directory.
#[derive(Debug, Clone)]
pub struct LiveSystem {
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub squashfs: PathBuf,
    /// The kernel's release, from its file name in `/boot`.
    pub kernel_release: String,
}

/// Unpack `rootfs_tar` into `stage` (removed afterwards), add `embeds`,
/// and write `vmlinuz`, `initrd.img` and `filesystem.squashfs` into
/// `out_dir`. The initrd must come from a rootfs
/// with live-boot installed, which is checked here rather than at boot.
pub fn make(
    rootfs_tar: &Path,
    embeds: &[Embed],
    epoch: u64,
    stage: &Path,
    out_dir: &Path,
) -> Result<LiveSystem> {
    fs::create_dir_all(out_dir).at(out_dir)?;
    let result = (|| {
        ext4::unpack(rootfs_tar, stage)?;
        let live_hook = stage.join("usr/share/initramfs-tools/scripts/live");
        if !live_hook.is_file() {
            return Err(Error::invalid(
                rootfs_tar.display(),
                "/usr/share/initramfs-tools/scripts/live",
                "missing: the rootfs needs the live-boot package to boot as a live system",
            ));
        }
        ext4::apply_embeds(stage, embeds)?;
        let (kernel_path, initrd_path) = find_kernel(stage, rootfs_tar)?;
        let kernel = out_dir.join("vmlinuz");
        let initrd = out_dir.join("initrd.img");
        for (from, to) in [(&kernel_path, &kernel), (&initrd_path, &initrd)] {
            let src = stage.join(from.trim_start_matches('/'));
            fs::copy(&src, to).at(&src)?;
        }
        let squashfs = out_dir.join("filesystem.squashfs");
        let _ = fs::remove_file(&squashfs);
        // Owners as in the image: inside the user namespace when not root.
        tool::run(
            as_image_root("mksquashfs")
                .env("SOURCE_DATE_EPOCH", epoch.to_string())
                .arg(stage)
                .arg(&squashfs)
                .args(["-noappend", "-no-progress", "-comp", "zstd"])
                .args([
                    "-wildcards",
                    "-e",
                    "proc/*",
                    "sys/*",
                    "dev/*",
                    "run/*",
                    "tmp/*",
                ]),
            "making the squashfs root",
        )?;
        let kernel_release = kernel_path.trim_start_matches("/boot/vmlinuz-").to_string();
        Ok(LiveSystem {
            kernel,
            initrd,
            squashfs,
            kernel_release,
        })
    })();
    remove_stage(stage);
    result
}

/// Remove a staging tree that may belong to other users (when unpacked in
/// a user namespace) from where it was made.
fn remove_stage(stage: &Path) {
    let _ = tool::run(
        as_image_root("rm").arg("-rf").arg(stage),
        "removing the staging tree",
    );
}

/// Set the modification time of `path` to `epoch`, for tools that copy it.
pub(crate) fn touch(path: &Path, epoch: u64) -> Result<()> {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(epoch);
    fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(t))
        .at(path)
}

/// Copy `from` to `to` with its time set to `epoch`.
pub(crate) fn copy_at_epoch(from: &Path, to: &Path, epoch: u64) -> Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).at(parent)?;
    }
    fs::copy(from, to).at(from)?;
    touch(to, epoch)
}

/// A command with `SOURCE_DATE_EPOCH` set.
pub(crate) fn with_epoch(program: &str, epoch: u64) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("SOURCE_DATE_EPOCH", epoch.to_string());
    cmd
}
