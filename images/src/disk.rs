//! A bootable GPT disk image from a rootfs tarball, made without root,
//! loop devices or mounts, as Debian's own cloud images are:
//! the ext4 root from `mkfs.ext4 -d` ([`crate::ext4`]), the ESP from
//! mkfs.vfat and mtools ([`crate::esp`]), the table from sfdisk
//! ([`crate::gpt`]), GRUB's images written in place ([`crate::grub`]), and
//! the partition images copied to their offsets.
//!
//! Every UUID comes from [`DiskSpec::seed`] and every time from
//! [`DiskSpec::epoch`], so the same rootfs and spec give the same bytes.

use std::fs;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::error::{Error, IoContext, Result};
use crate::esp::{self, EspFile};
use crate::ext4::{self, Ext4Params};
use crate::gpt::{self, Partition};
use crate::grub::{self, Platform};
use crate::ids;
use crate::tool::{self, as_image_root};

/// Size of the EFI system partition unless the spec says otherwise.
pub const DEFAULT_ESP_BYTES: u64 = 64 << 20;

/// A file or symlink to put into the root file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Embed {
    /// A regular file, owned by root, with `mode` (e.g. `0o600`).
    File {
        path: String,
        data: Vec<u8>,
        mode: u32,
    },
    /// A symbolic link at `path` pointing to `target`.
    Symlink { path: String, target: String },
    /// A copy of the host directory `source` (its content, recursively,
    /// modes kept, owned by root) at `path`.
    Tree { path: String, source: PathBuf },
}

impl Embed {
    /// A root-owned file at `path` (absolute, inside the image).
    pub fn file(path: &str, data: impl Into<Vec<u8>>, mode: u32) -> Embed {
        Embed::File {
            path: path.to_string(),
            data: data.into(),
            mode,
        }
    }

    /// A symlink at `path` to `target`.
    pub fn symlink(path: &str, target: &str) -> Embed {
        Embed::Symlink {
            path: path.to_string(),
            target: target.to_string(),
        }
    }

    /// The directory `source` copied to `path`.
    pub fn tree(path: &str, source: &Path) -> Embed {
        Embed::Tree {
            path: path.to_string(),
            source: source.to_path_buf(),
        }
    }

    /// A systemd unit installed under `/etc/systemd/system` and enabled for
    /// `wanted_by` (e.g. `multi-user.target`).
    pub fn enabled_unit(name: &str, text: &str, wanted_by: &str) -> Vec<Embed> {
        let path = format!("/etc/systemd/system/{name}");
        vec![
            Embed::file(&path, text, 0o644),
            Embed::symlink(
                &format!("/etc/systemd/system/{wanted_by}.wants/{name}"),
                &path,
            ),
        ]
    }

    /// The path inside the image.
    pub fn path(&self) -> &str {
        match self {
            Embed::File { path, .. } | Embed::Symlink { path, .. } | Embed::Tree { path, .. } => {
                path
            }
        }
    }
}

/// What to build.
#[derive(Debug, Clone)]
pub struct DiskSpec {
    /// Size of the whole disk in bytes; the root partition takes what the
    /// BIOS boot partition and ESP leave, and grows with the disk on first
    /// boot.
    pub size_bytes: u64,
    /// The value every GUID, UUID and serial is derived from.
    pub seed: String,
    /// Kernel arguments after `root=… ro console=…`.
    pub cmdline: String,
    /// Files to add to the root (e.g. `/etc/pigsty/seed.yml`), after the
    /// boot files, so they may replace them.
    pub embeds: Vec<Embed>,
    /// `SOURCE_DATE_EPOCH`: every time stamp in the image.
    pub epoch: u64,
    /// Size of the EFI system partition.
    pub esp_bytes: u64,
}

impl DiskSpec {
    /// A spec with the default ESP size, no extra arguments or files.
    pub fn new(size_bytes: u64, seed: &str, epoch: u64) -> DiskSpec {
        DiskSpec {
            size_bytes,
            seed: seed.to_string(),
            cmdline: String::new(),
            embeds: Vec::new(),
            epoch,
            esp_bytes: DEFAULT_ESP_BYTES,
        }
    }
}

/// What was built.
#[derive(Debug, Clone)]
pub struct DiskReport {
    pub path: PathBuf,
    pub size_bytes: u64,
    /// Bytes the (sparse) file occupies on disk.
    pub allocated_bytes: u64,
    pub disk_guid: String,
    pub root_fs_uuid: String,
    pub root_partuuid: String,
    pub esp_fs_serial: String,
    /// Kernel and initrd paths inside the root file system.
    pub kernel: String,
    pub initrd: String,
    pub partitions: Vec<Partition>,
    pub seconds: f64,
}

/// The root-growing service: on the first boot, grow the root partition
/// to the end of the disk and the file system with it.
const GROWROOT_SCRIPT: &str = r#"#!/bin/sh
# Grow the root partition to the end of its disk, then its ext4 file system.
set -eu
src=$(findmnt -n -o SOURCE /)
name=${src#/dev/}
disk=/dev/$(lsblk -n -o PKNAME "$src")
part=$(cat "/sys/class/block/$name/partition")
# growpart exits 1 when there is nothing to grow.
rc=0; growpart "$disk" "$part" || rc=$?
[ "$rc" -le 1 ]
resize2fs "$src"
mkdir -p /var/lib/pig
touch /var/lib/pig/growroot.done
"#;

const GROWROOT_UNIT: &str = "[Unit]
Description=Grow the root file system to fill the disk
ConditionPathExists=!/var/lib/pig/growroot.done
After=local-fs.target
Before=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/lib/pig/growroot
RemainAfterExit=yes

[Install]
WantedBy=multi-user.target
";

/// The name of the root-growing unit, for units that must run after it.
pub const GROWROOT_UNIT_NAME: &str = "pig-growroot.service";

/// Build the raw disk image `out` from the rootfs tarball `rootfs_tar`.
pub fn build_raw(rootfs_tar: &Path, spec: &DiskSpec, out: &Path) -> Result<DiskReport> {
    let started = Instant::now();
    let uuid = |purpose: &str| ids::uuid(&spec.seed, purpose);
    let parts = gpt::layout(spec.size_bytes, spec.esp_bytes, uuid)?;
    let [bios, esp_part, root_part] = &parts;
    let disk_guid = uuid("disk");
    let root_uuid = uuid("fs-root");
    let serial = ids::fat_serial(&spec.seed, "fs-esp");
    let esp_uuid = format!("{}-{}", &serial[..4], &serial[4..]).to_uppercase();

    let work = crate::work_dir_beside(out, ".pig-image-")?;
    let stage = work.path().join("stage");
    let result = (|| -> Result<(String, String)> {
        ext4::unpack(rootfs_tar, &stage)?;
        let (kernel, initrd) = find_kernel(&stage, rootfs_tar)?;
        let mut embeds = boot_files(&kernel, &initrd, &root_uuid, &esp_uuid, &spec.cmdline);
        embeds.extend(spec.embeds.iter().cloned());
        ext4::apply_embeds(&stage, &embeds)?;
        let root_img = work.path().join("root.ext4");
        ext4::make(
            &stage,
            &Ext4Params {
                label: "root",
                uuid: &root_uuid,
                hash_seed: &uuid("fs-root-hash-seed"),
                epoch: spec.epoch,
                size_bytes: root_part.size_bytes(),
            },
            &root_img,
        )?;

        let early = work.path().join("early.cfg");
        fs::write(&early, grub::early_config(&root_uuid)).at(&early)?;
        let core = work.path().join("core.img");
        grub::mkimage(
            Platform::Bios,
            grub::BootFrom::Disk,
            &early,
            spec.epoch,
            &core,
        )?;
        let efi = work.path().join("BOOTX64.EFI");
        grub::mkimage(
            Platform::Efi,
            grub::BootFrom::Disk,
            &early,
            spec.epoch,
            &efi,
        )?;
        let esp_img = work.path().join("esp.fat");
        esp::make(
            &esp_img,
            esp_part.size_bytes(),
            &serial,
            spec.epoch,
            &[EspFile {
                dest: "EFI/BOOT/BOOTX64.EFI",
                source: &efi,
            }],
        )?;

        let part = work.path().join("disk.raw");
        let f = fs::File::create(&part).at(&part)?;
        f.set_len(spec.size_bytes).at(&part)?;
        drop(f);
        gpt::write(&part, &gpt::sfdisk_script(&disk_guid, &parts))?;
        copy_sparse(&esp_img, &part, esp_part.offset_bytes())?;
        copy_sparse(&root_img, &part, root_part.offset_bytes())?;
        grub::install_bios(&part, &core, bios.start, bios.sectors)?;
        fs::rename(&part, out).at(out)?;
        Ok((kernel, initrd))
    })();
    // The staging tree may belong to other users (when built in a user
    // namespace): remove it from where it was made.
    let _ = tool::run(
        as_image_root("rm").arg("-rf").arg(&stage),
        "removing the staging tree",
    );
    let (kernel, initrd) = result?;
    let allocated_bytes = fs::metadata(out)
        .map(|m| std::os::unix::fs::MetadataExt::blocks(&m) * 512)
        .at(out)?;
    Ok(DiskReport {
        path: out.to_path_buf(),
        size_bytes: spec.size_bytes,
        allocated_bytes,
        disk_guid,
        root_fs_uuid: root_uuid,
        root_partuuid: root_part.uuid.clone(),
        esp_fs_serial: esp_uuid,
        kernel,
        initrd,
        partitions: parts.to_vec(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The files that make the root bootable and self-describing: GRUB's
/// config, fstab by UUID, a neutral host name, and the root growth unit.
fn boot_files(
    kernel: &str,
    initrd: &str,
    root_uuid: &str,
    esp_uuid: &str,
    cmdline: &str,
) -> Vec<Embed> {
    let mut files = vec![
        Embed::file(
            "/boot/grub/grub.cfg",
            grub::grub_cfg(kernel, initrd, root_uuid, cmdline),
            0o644,
        ),
        Embed::file(
            "/etc/fstab",
            format!(
                "# <file system> <mount point> <type> <options> <dump> <pass>\n\
                 UUID={root_uuid} / ext4 errors=remount-ro 0 1\n\
                 UUID={esp_uuid} /boot/efi vfat umask=0077,nofail 0 2\n"
            ),
            0o644,
        ),
        Embed::file("/etc/hostname", "localhost\n", 0o644),
        Embed::file("/usr/lib/pig/growroot", GROWROOT_SCRIPT, 0o755),
    ];
    files.extend(Embed::enabled_unit(
        GROWROOT_UNIT_NAME,
        GROWROOT_UNIT,
        "multi-user.target",
    ));
    files
}

/// The kernel and initrd in `/boot` of the staging tree, as paths inside
/// the image. With several kernels, the last by name.
pub(crate) fn find_kernel(stage: &Path, input: &Path) -> Result<(String, String)> {
    let boot = stage.join("boot");
    let mut versions: Vec<String> = fs::read_dir(&boot)
        .at(&boot)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("vmlinuz-"))
                .map(str::to_string)
        })
        .filter(|v| boot.join(format!("initrd.img-{v}")).is_file())
        .collect();
    versions.sort();
    let v = versions.pop().ok_or_else(|| {
        Error::invalid(
            input.display(),
            "/boot",
            "no vmlinuz-<version> with a matching initrd.img-<version>",
        )
    })?;
    Ok((
        format!("/boot/vmlinuz-{v}"),
        format!("/boot/initrd.img-{v}"),
    ))
}

/// Copy `src` into `dest` at `offset`, skipping all-zero blocks so the
/// disk file stays sparse (it was created full of zeros).
fn copy_sparse(src: &Path, dest: &Path, offset: u64) -> Result<()> {
    const BLOCK: usize = 1 << 20;
    let mut input = fs::File::open(src).at(src)?;
    let mut output = fs::File::options().write(true).open(dest).at(dest)?;
    let mut buf = vec![0u8; BLOCK];
    let mut pos = offset;
    loop {
        let mut filled = 0;
        while filled < BLOCK {
            let n = input.read(&mut buf[filled..]).at(src)?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            break;
        }
        if buf[..filled].iter().any(|&b| b != 0) {
            output.seek(SeekFrom::Start(pos)).at(dest)?;
            output.write_all(&buf[..filled]).at(dest)?;
        }
        pos += filled as u64;
        if filled < BLOCK {
            break;
        }
    }
    output.sync_all().at(dest)?;
    Ok(())
}

/// The image formats a disk can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Raw,
    Qcow2,
}

impl std::str::FromStr for ImageKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<ImageKind> {
        match s {
            "raw" => Ok(ImageKind::Raw),
            "qcow2" => Ok(ImageKind::Qcow2),
            other => Err(Error::invalid(other, "image kind", "expected raw or qcow2")),
        }
    }
}

/// Build the disk as `kind` at `out`: [`build_raw`], then for qcow2
/// [`to_qcow2`] from a raw image beside `out` that is removed afterwards.
pub fn build_disk(
    rootfs_tar: &Path,
    spec: &DiskSpec,
    kind: ImageKind,
    out: &Path,
) -> Result<DiskReport> {
    match kind {
        ImageKind::Raw => build_raw(rootfs_tar, spec, out),
        ImageKind::Qcow2 => {
            let raw = out.with_extension("raw.part");
            let result = build_raw(rootfs_tar, spec, &raw).and_then(|mut report| {
                to_qcow2(&raw, out)?;
                report.path = out.to_path_buf();
                report.allocated_bytes = fs::metadata(out)
                    .map(|m| std::os::unix::fs::MetadataExt::blocks(&m) * 512)
                    .at(out)?;
                Ok(report)
            });
            let _ = fs::remove_file(&raw);
            result
        }
    }
}

/// Convert the raw image `raw` to qcow2 at `out` with `qemu-img convert`.
pub fn to_qcow2(raw: &Path, out: &Path) -> Result<()> {
    tool::run(
        Command::new("qemu-img")
            .args(["convert", "-f", "raw", "-O", "qcow2"])
            .arg(raw)
            .arg(out),
        "converting to qcow2",
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_files_use_uuids_and_enable_growroot() {
        let files = boot_files(
            "/boot/vmlinuz-6",
            "/boot/initrd.img-6",
            "r-1",
            "ABCD-0123",
            "",
        );
        let fstab = files.iter().find(|e| e.path() == "/etc/fstab").unwrap();
        let Embed::File { data, .. } = fstab else {
            panic!("fstab is a file")
        };
        let text = String::from_utf8_lossy(data);
        assert!(text.contains("UUID=r-1 / ext4"));
        assert!(text.contains("UUID=ABCD-0123 /boot/efi vfat"));
        assert!(files.iter().any(
            |e| e.path() == "/etc/systemd/system/multi-user.target.wants/pig-growroot.service"
        ));
    }

    #[test]
    fn find_kernel_needs_a_matching_initrd() {
        let dir = tempfile::tempdir().unwrap();
        let boot = dir.path().join("boot");
        fs::create_dir(&boot).unwrap();
        fs::write(boot.join("vmlinuz-6.1.0-9"), b"k").unwrap();
        assert!(find_kernel(dir.path(), Path::new("r.tar")).is_err());
        fs::write(boot.join("initrd.img-6.1.0-9"), b"i").unwrap();
        fs::write(boot.join("vmlinuz-6.1.0-10"), b"k").unwrap();
        let (k, i) = find_kernel(dir.path(), Path::new("r.tar")).unwrap();
        assert_eq!(
            (k.as_str(), i.as_str()),
            ("/boot/vmlinuz-6.1.0-9", "/boot/initrd.img-6.1.0-9")
        );
    }
}
