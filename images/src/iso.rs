//! A hybrid ISO booting the live system ([`crate::live`]) four ways, made
//! with xorriso as grub-mkrescue and Ubuntu's ISOs are:
//!
//! - BIOS CD: El Torito, GRUB's `i386-pc-eltorito` image;
//! - BIOS USB: GRUB's `boot_hybrid.img` in the MBR (`--grub2-mbr`), which
//!   starts the same El Torito image from the disk;
//! - UEFI CD: an El Torito EFI entry pointing at a FAT EFI system image
//!   holding GRUB's `BOOTX64.EFI` (made with mkfs.vfat and mtools);
//! - UEFI USB: the same FAT image appended as a GPT EFI system partition.
//!
//! Every GRUB finds the ISO 9660 file system by its UUID (the volume's
//! modification time, as grub-mkrescue does) and reads `/boot/grub/grub.cfg`.
//! The ISO carries a seed area ([`crate::seed_area`]) that
//! [`crate::seed_area::customize`] rewrites in place.
//!
//! Reproducibility: `SOURCE_DATE_EPOCH` sets every time in the squashfs,
//! the ESP and the ISO (`--modification-date`, `--set_all_file_dates`);
//! the GPT disk GUID comes from [`IsoSpec::seed`].

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::disk::Embed;
use crate::error::{Error, IoContext, Result};
use crate::esp::{self, EspFile};
use crate::grub::{self, Platform};
use crate::live::{self, LIVE_ARGS, with_epoch};
use crate::{ids, seed_area, tool};

/// The ISO's volume id (label).
pub const VOLUME_ID: &str = "PIGSTY";
/// Size of the FAT EFI system image: GRUB's EFI image and room to spare.
const EFI_IMAGE_BYTES: u64 = 4 << 20;
/// The MBR code of a GRUB hybrid ISO.
const HYBRID_MBR: &str = "boot_hybrid.img";

/// What to build.
#[derive(Debug, Clone)]
pub struct IsoSpec {
    /// The value the GPT disk GUID is derived from.
    pub seed: String,
    /// `SOURCE_DATE_EPOCH`: every time stamp, and the volume UUID.
    pub epoch: u64,
    /// Kernel arguments after `boot=live` and the console.
    pub cmdline: String,
    /// Files to add to the live root.
    pub embeds: Vec<Embed>,
    /// A node seed (YAML) to put in the seed area now; `None` leaves the
    /// area empty for `customize`.
    pub node_seed: Option<Vec<u8>>,
}

impl IsoSpec {
    /// A spec with no extra arguments, files or seed.
    pub fn new(seed: &str, epoch: u64) -> IsoSpec {
        IsoSpec {
            seed: seed.to_string(),
            epoch,
            cmdline: String::new(),
            embeds: Vec::new(),
            node_seed: None,
        }
    }
}

/// What was built.
#[derive(Debug, Clone)]
pub struct IsoReport {
    pub path: PathBuf,
    pub size_bytes: u64,
    pub squashfs_bytes: u64,
    /// The ISO 9660 UUID GRUB searches for (`YYYY-MM-DD-hh-mm-ss-cc`).
    pub volume_uuid: String,
    pub disk_guid: String,
    pub kernel_release: String,
    pub seconds: f64,
}

/// Build the hybrid ISO `out` from `rootfs_tar` (which must include
/// live-boot). The ISO is written beside `out` and renamed into place.
pub fn build_iso(rootfs_tar: &Path, spec: &IsoSpec, out: &Path) -> Result<IsoReport> {
    let started = Instant::now();
    let hybrid_mbr = Path::new(grub::GRUB_LIB).join("i386-pc").join(HYBRID_MBR);
    if !hybrid_mbr.is_file() {
        return Err(Error::invalid(
            hybrid_mbr.display(),
            "GRUB hybrid MBR",
            "missing: install grub-pc-bin",
        ));
    }
    let area = seed_area::encode(spec.node_seed.as_deref())?;
    let work = crate::work_dir_beside(out, ".pig-iso-")?;
    let tree = work.path().join("tree");
    let live = live::make(
        rootfs_tar,
        &spec.embeds,
        spec.epoch,
        &work.path().join("stage"),
        &tree.join("live"),
    )?;
    let stamp = iso_timestamp(spec.epoch);
    let volume_uuid = grub_uuid(&stamp);
    let disk_guid = ids::uuid(&spec.seed, "iso-disk");

    let grub_dir = tree.join("boot/grub");
    fs::create_dir_all(grub_dir.join("i386-pc")).at(&grub_dir)?;
    fs::write(grub_dir.join("grub.cfg"), live_grub_cfg(&spec.cmdline)).at(&grub_dir)?;
    let early = work.path().join("early.cfg");
    fs::write(&early, grub::early_config(&volume_uuid)).at(&early)?;
    grub::mkimage(
        Platform::Bios,
        grub::BootFrom::Cd,
        &early,
        spec.epoch,
        &grub_dir.join("i386-pc/eltorito.img"),
    )?;
    let efi = work.path().join("BOOTX64.EFI");
    grub::mkimage(Platform::Efi, grub::BootFrom::Cd, &early, spec.epoch, &efi)?;
    let efi_img = work.path().join("efi.img");
    esp::make(
        &efi_img,
        EFI_IMAGE_BYTES,
        &ids::fat_serial(&spec.seed, "iso-esp"),
        spec.epoch,
        &[EspFile {
            dest: "EFI/BOOT/BOOTX64.EFI",
            source: &efi,
        }],
    )?;
    let area_path = tree.join(seed_area::ISO_PATH.trim_start_matches('/'));
    if let Some(dir) = area_path.parent() {
        fs::create_dir_all(dir).at(dir)?;
    }
    fs::write(&area_path, &area).at(&area_path)?;

    let part = work.path().join("out.iso");
    tool::run(
        with_epoch("xorriso", spec.epoch)
            .args(["-as", "mkisofs", "-iso-level", "3", "-r", "-V", VOLUME_ID])
            .arg(format!("--modification-date={stamp}"))
            .args(["--set_all_file_dates", &stamp])
            .args(["--gpt_disk_guid", &disk_guid])
            .arg("--grub2-mbr")
            .arg(&hybrid_mbr)
            .args(["-partition_offset", "16", "--mbr-force-bootable"])
            .args(["-append_partition", "2", "0xef"])
            .arg(&efi_img)
            .arg("-appended_part_as_gpt")
            .args(["-c", "boot/boot.cat"])
            .args(["-b", "boot/grub/i386-pc/eltorito.img", "-no-emul-boot"])
            .args([
                "-boot-load-size",
                "4",
                "-boot-info-table",
                "--grub2-boot-info",
            ])
            .args([
                "-eltorito-alt-boot",
                "-e",
                "--interval:appended_partition_2:all::",
            ])
            .arg("-no-emul-boot")
            .arg("-o")
            .arg(&part)
            .arg(&tree),
        "making the ISO",
    )?;
    fs::rename(&part, out).at(out)?;
    Ok(IsoReport {
        path: out.to_path_buf(),
        size_bytes: fs::metadata(out).at(out)?.len(),
        squashfs_bytes: fs::metadata(&live.squashfs).at(&live.squashfs)?.len(),
        volume_uuid,
        disk_guid,
        kernel_release: live.kernel_release,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// GRUB's config on the ISO: boot the live system at once, console on the
/// first serial port as well as the screen.
pub fn live_grub_cfg(cmdline: &str) -> String {
    grub::serial_menu(
        "pig live",
        &format!("/live/vmlinuz {LIVE_ARGS}"),
        "/live/initrd.img",
        cmdline,
    )
}

/// `epoch` as xorriso's 16-digit GMT time string `YYYYMMDDhhmmsscc`.
pub fn iso_timestamp(epoch: u64) -> String {
    let days = epoch / 86_400;
    let secs = epoch % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}00",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The ISO 9660 UUID GRUB derives from a `YYYYMMDDhhmmsscc` time string.
fn grub_uuid(stamp: &str) -> String {
    let b = stamp.as_bytes();
    [
        (0, 4),
        (4, 6),
        (6, 8),
        (8, 10),
        (10, 12),
        (12, 14),
        (14, 16),
    ]
    .iter()
    .map(|&(s, e)| String::from_utf8_lossy(b.get(s..e).unwrap_or_default()).into_owned())
    .collect::<Vec<_>>()
    .join("-")
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_grub_uuid() {
        assert_eq!(iso_timestamp(0), "1970010100000000");
        assert_eq!(iso_timestamp(1_700_000_000), "2023111422132000");
        assert_eq!(iso_timestamp(951_782_400), "2000022900000000");
        assert_eq!(grub_uuid("2023111422132000"), "2023-11-14-22-13-20-00");
    }

    #[test]
    fn grub_cfg_boots_live_on_the_serial_console() {
        let cfg = live_grub_cfg(" quiet ");
        assert!(
            cfg.contains("linux /live/vmlinuz boot=live console=tty0 console=ttyS0,115200 quiet\n")
        );
        assert!(cfg.contains("initrd /live/initrd.img\n"));
    }
}
