//! The ext4 root file system as an image file, made by `mkfs.ext4 -d` from
//! a staging tree: no mount, no loop device.
//!
//! Reproducibility: the UUID and directory hash seed are given, the clock
//! mke2fs reads is `E2FSPROGS_FAKE_TIME`, and every file time in the tree
//! newer than `SOURCE_DATE_EPOCH` is clamped to it before mke2fs copies it.

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Component, Path};
use std::process::Command;

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
        if let Embed::Tree { source, .. } = embed {
            copy_tree(source, &dest)?;
            continue;
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
            Embed::Tree { .. } => {}
        }
    }
    Ok(())
}

/// Copy the content of `source` into `dest` (made if missing), modes
/// kept, owned by the image's root; times are clamped with the rest of
/// the tree by [`make`].
fn copy_tree(source: &Path, dest: &Path) -> Result<()> {
    if !source.is_dir() {
        return Err(Error::invalid(
            source.display(),
            "embedded tree",
            "not a directory",
        ));
    }
    fs::create_dir_all(dest).at(dest)?;
    tool::run(
        as_image_root("cp")
            .args(["-R", "--preserve=mode", "--no-preserve=ownership"])
            .arg(source.join("."))
            .arg(dest),
        "copying a tree into the root",
    )?;
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
    clamp_inode_times(out, params.epoch)
}

/// Set every used inode's ctime and atime to `epoch`. mke2fs copies them
/// from the staging tree, where they are the time of unpacking, and no
/// tool can set a file's ctime: rewrite them in the image with debugfs.
fn clamp_inode_times(image: &Path, epoch: u64) -> Result<()> {
    let out = tool::run(Command::new("dumpe2fs").arg(image), "listing used inodes")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let inodes = used_inodes(&text).ok_or_else(|| {
        Error::invalid(
            image.display(),
            "dumpe2fs output",
            "no inode bitmap summary",
        )
    })?;
    let mut script = String::new();
    for n in inodes {
        let _ = writeln!(script, "sif <{n}> ctime @{epoch}\nsif <{n}> atime @{epoch}");
    }
    let script_path = image.with_extension("debugfs");
    fs::write(&script_path, script).at(&script_path)?;
    let result = tool::run(
        Command::new("debugfs")
            .env("E2FSPROGS_FAKE_TIME", epoch.to_string())
            .arg("-w")
            .arg("-f")
            .arg(&script_path)
            .arg(image),
        "clamping inode times",
    );
    let _ = fs::remove_file(&script_path);
    result.map(|_| ())
}

/// The used inode numbers from dumpe2fs's `Inodes per group` and each
/// group's `Free inodes:` ranges; `None` when the summary is missing.
fn used_inodes(dumpe2fs: &str) -> Option<Vec<u64>> {
    let per_group: u64 = dumpe2fs
        .lines()
        .find_map(|l| l.strip_prefix("Inodes per group:"))?
        .trim()
        .parse()
        .ok()?;
    let mut used = Vec::new();
    let mut group = 0u64;
    for line in dumpe2fs.lines() {
        let Some(ranges) = line.trim_start().strip_prefix("Free inodes:") else {
            continue;
        };
        // The superblock summary has the same label but no indent.
        if !line.starts_with(' ') {
            continue;
        }
        let first = group * per_group + 1;
        let last = first + per_group - 1;
        let mut free = Vec::new();
        for range in ranges.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            let (a, b) = range.split_once('-').unwrap_or((range, range));
            free.push((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?));
        }
        used.extend((first..=last).filter(|n| !free.iter().any(|&(a, b)| (a..=b).contains(n))));
        group += 1;
    }
    (group > 0).then_some(used)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn used_inodes_are_the_complement_of_free_ranges() {
        let text = "Free inodes:              5\nInodes per group:         8\n\
                    Group 0: (Blocks 0-1)\n  Free inodes: 4-5, 8\nGroup 1: (Blocks 2-3)\n  Free inodes: \n";
        assert_eq!(
            used_inodes(text).unwrap(),
            [1, 2, 3, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16]
        );
        assert_eq!(used_inodes("Inodes per group: 8\n"), None);
        assert_eq!(
            used_inodes("  Free inodes: x-y\nInodes per group: 8\n"),
            None
        );
    }

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
