//! The ext4 root file system as an image file, made by `mkfs.ext4 -d` from
//! a staging tree: no mount, no loop device.
//!
//! Reproducibility: the UUID and directory hash seed are given, the clock
//! mke2fs reads is `E2FSPROGS_FAKE_TIME`, and every file time in the tree
//! newer than `SOURCE_DATE_EPOCH` is clamped to it before mke2fs copies it.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Component, Path};

use crate::disk::Embed;
use crate::error::{Error, IoContext, Result};
use crate::tool::{self, as_image_root};

/// Unpack the rootfs tarball `tar` into the empty directory `stage`,
/// keeping owners and modes (in a user namespace when not root).
pub fn unpack(tar: &Path, stage: &Path) -> Result<()> {
    fs::create_dir_all(stage).at(stage)?;
    tool::run(
        as_image_root("tar")
            .args(["--numeric-owner", "--same-owner", "-xpf"])
            .arg(tar)
            .arg("-C")
            .arg(stage),
        "unpacking the rootfs",
    )?;
    Ok(())
}

/// Write `embeds` into the staging tree, making parent directories
/// (mode 0755) as needed; an existing file at the same path is replaced.
pub fn apply_embeds(stage: &Path, embeds: &[Embed]) -> Result<()> {
    for embed in embeds {
        let rel = relative(embed.path())?;
        let dest = stage.join(rel);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).at(parent)?;
        }
        if fs::symlink_metadata(&dest).is_ok() {
            fs::remove_file(&dest).at(&dest)?;
        }
        match embed {
            Embed::File { data, mode, .. } => {
                fs::write(&dest, data).at(&dest)?;
                fs::set_permissions(&dest, fs::Permissions::from_mode(*mode)).at(&dest)?;
            }
            Embed::Symlink { target, .. } => symlink(target, &dest).at(&dest)?,
        }
    }
    Ok(())
}

/// `path` (absolute, inside the image) as a relative path with no `..`.
fn relative(path: &str) -> Result<&Path> {
    let rel = Path::new(path.trim_start_matches('/'));
    let clean = path.starts_with('/')
        && rel.components().all(|c| matches!(c, Component::Normal(_)))
        && rel.components().next().is_some();
    if !clean {
        return Err(Error::invalid(
            path,
            "embedded file path",
            "must be absolute, without `.` or `..`",
        ));
    }
    Ok(rel)
}

/// The ext4 parameters that decide the image bytes.
#[derive(Debug, Clone)]
pub struct Ext4Params<'a> {
    pub label: &'a str,
    pub uuid: &'a str,
    pub hash_seed: &'a str,
    pub epoch: u64,
    pub size_bytes: u64,
}

/// Make the ext4 image `out` of `params.size_bytes` holding `stage`.
pub fn make(stage: &Path, params: &Ext4Params, out: &Path) -> Result<()> {
    let epoch = params.epoch.to_string();
    tool::run(
        as_image_root("find")
            .arg(stage)
            .args([
                "-newermt",
                &format!("@{epoch}"),
                "-exec",
                "touch",
                "-h",
                "-d",
            ])
            .arg(format!("@{epoch}"))
            .args(["{}", "+"]),
        "clamping file times to SOURCE_DATE_EPOCH",
    )?;
    let _ = fs::remove_file(out);
    let file = fs::File::create(out).at(out)?;
    file.set_len(params.size_bytes).at(out)?;
    drop(file);
    tool::run(
        as_image_root("mkfs.ext4")
            .env("E2FSPROGS_FAKE_TIME", &epoch)
            .env("SOURCE_DATE_EPOCH", &epoch)
            .args(["-q", "-F", "-t", "ext4", "-b", "4096", "-I", "256"])
            // GRUB 2.06 cannot read metadata_csum_seed, and older guests'
            // e2fsck does not know orphan_file.
            .args(["-O", "^metadata_csum_seed,^orphan_file"])
            .args(["-L", params.label, "-U", params.uuid])
            .arg("-E")
            .arg(format!("hash_seed={},root_owner=0:0", params.hash_seed))
            .arg("-d")
            .arg(stage)
            .arg(out),
        "making the root file system",
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embed_paths_must_be_absolute_and_plain() {
        assert_eq!(
            relative("/etc/pigsty/seed.yml").unwrap(),
            Path::new("etc/pigsty/seed.yml")
        );
        for bad in ["etc/x", "/etc/../x", "/", "/./x"] {
            assert!(relative(bad).is_err(), "{bad}");
        }
    }
}
