//! GRUB for both firmwares, written in place the way grub-install would,
//! from the host's GRUB images (grub-pc-bin, grub-efi-amd64-bin): nothing
//! of GRUB is needed inside the rootfs.
//!
//! BIOS: `boot.img` goes into the MBR's code area with the LBA of the core
//! image patched in, and `core.img` (made by `grub-mkimage -O i386-pc`) into
//! the BIOS boot partition with its first-sector block list pointing at the
//! rest of itself — the two patches `grub-bios-setup` makes.
//! UEFI: `grub-mkimage -O x86_64-efi` makes `EFI/BOOT/BOOTX64.EFI`, the
//! removable-media path every firmware tries.
//! Both embed the same small config that finds the root by file-system
//! UUID and reads `/boot/grub/grub.cfg` from it.

use std::fs;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;
use std::process::Command;

use crate::error::{Error, IoContext, Result};
use crate::tool;

/// Where Debian installs GRUB's per-platform images and modules.
pub const GRUB_LIB: &str = "/usr/lib/grub";

/// Modules every image links: enough to find the root file system by
/// UUID, read the config and boot Linux, with a serial console. [`mkimage`]
/// adds the file system, partition table and firmware modules of the
/// medium.
const BOOT_MODULES: &[&str] = &[
    "search",
    "search_fs_uuid",
    "configfile",
    "normal",
    "linux",
    "serial",
    "terminal",
    "echo",
    "test",
    "boot",
];

/// Offsets inside `boot.img` (grub/include/grub/i386/pc/boot.h).
const BOOT_KERNEL_SECTOR: usize = 0x5c;
const BOOT_DRIVE_CHECK: usize = 0x66;
/// The MBR's code area ends where the disk signature starts.
const MBR_CODE_END: usize = 440;
/// The first block list entry sits at the end of core.img's first sector:
/// start (u64), len (u16), segment (u16).
const BLOCKLIST_START: usize = 512 - 12;

/// The config embedded in both images.
pub fn early_config(root_uuid: &str) -> String {
    format!(
        "search --no-floppy --fs-uuid --set=root {root_uuid}\n\
         set prefix=($root)/boot/grub\n\
         configfile $prefix/grub.cfg\n"
    )
}

/// `/boot/grub/grub.cfg` on the root: boot `kernel` with `initrd` (paths
/// inside the root file system) at once, console on the first serial port.
pub fn grub_cfg(kernel: &str, initrd: &str, root_uuid: &str, cmdline: &str) -> String {
    serial_menu(
        "pig",
        &format!("{kernel} root=UUID={root_uuid} ro"),
        initrd,
        cmdline,
    )
}

/// A GRUB config with one menu entry `title`, booted at once: `linux
/// KERNEL_ARGS` with the console on the screen and the first serial port,
/// then the user's `cmdline`, and `initrd`.
pub fn serial_menu(title: &str, kernel_args: &str, initrd: &str, cmdline: &str) -> String {
    let extra = if cmdline.trim().is_empty() {
        String::new()
    } else {
        format!(" {}", cmdline.trim())
    };
    format!(
        "serial --unit=0 --speed=115200\n\
         terminal_input serial console\n\
         terminal_output serial console\n\
         set timeout=0\n\
         menuentry '{title}' {{\n\
         \tlinux {kernel_args} console=tty0 console=ttyS0,115200{extra}\n\
         \tinitrd {initrd}\n\
         }}\n"
    )
}

/// Which GRUB image to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// `i386-pc`: core.img for the BIOS boot partition.
    Bios,
    /// `x86_64-efi`: BOOTX64.EFI for the ESP.
    Efi,
}

impl Platform {
    fn dir(self) -> &'static str {
        match self {
            Platform::Bios => "i386-pc",
            Platform::Efi => "x86_64-efi",
        }
    }
}

/// What a GRUB image boots from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootFrom {
    /// A GPT disk with an ext4 root: core.img for the BIOS boot partition,
    /// BOOTX64.EFI for the ESP.
    Disk,
    /// An ISO 9660 medium, found by its volume UUID on a CD or on a hybrid
    /// ISO written to a disk: the El Torito no-emulation image
    /// (`i386-pc-eltorito`, also started by the hybrid MBR from a USB
    /// disk), or BOOTX64.EFI for the ISO's EFI system image.
    Cd,
}

/// Make a GRUB image for `platform` booting from `from`, embedding
/// `early_cfg` (a file).
pub fn mkimage(
    platform: Platform,
    from: BootFrom,
    early_cfg: &Path,
    epoch: u64,
    out: &Path,
) -> Result<()> {
    let (format, from_modules): (&str, &[&str]) = match (from, platform) {
        (BootFrom::Disk, _) => (platform.dir(), &["part_gpt", "ext2"]),
        (BootFrom::Cd, Platform::Bios) => {
            ("i386-pc-eltorito", &["iso9660", "part_gpt", "part_msdos"])
        }
        (BootFrom::Cd, Platform::Efi) => (platform.dir(), &["iso9660", "part_gpt", "part_msdos"]),
    };
    let platform_modules: &[&str] = match (from, platform) {
        (_, Platform::Bios) => &["biosdisk"],
        (BootFrom::Disk, Platform::Efi) => &["fat", "part_msdos"],
        (BootFrom::Cd, Platform::Efi) => &["fat"],
    };
    let modules: Vec<&str> = from_modules
        .iter()
        .chain(BOOT_MODULES)
        .chain(platform_modules)
        .copied()
        .collect();
    mkimage_as(platform, format, &modules, early_cfg, epoch, out)
}

/// `grub-mkimage -O format` from `platform`'s module directory.
fn mkimage_as(
    platform: Platform,
    format: &str,
    modules: &[&str],
    early_cfg: &Path,
    epoch: u64,
    out: &Path,
) -> Result<()> {
    let dir = Path::new(GRUB_LIB).join(platform.dir());
    if !dir.is_dir() {
        return Err(Error::invalid(
            dir.display(),
            "GRUB modules",
            "missing: install grub-pc-bin and grub-efi-amd64-bin",
        ));
    }
    tool::run(
        Command::new("grub-mkimage")
            .env("SOURCE_DATE_EPOCH", epoch.to_string())
            .args(["-O", format, "-d"])
            .arg(&dir)
            .arg("-c")
            .arg(early_cfg)
            .args(["-p", "/boot/grub", "-o"])
            .arg(out)
            .args(modules),
        "making a GRUB image",
    )?;
    Ok(())
}

/// Write GRUB's BIOS boot code into `disk`: `boot.img` into the MBR and
/// `core_img` at sector `core_lba` (the BIOS boot partition, `max_sectors`
/// long), patched as grub-bios-setup patches them.
pub fn install_bios(disk: &Path, core_img: &Path, core_lba: u64, max_sectors: u64) -> Result<()> {
    let boot_path = Path::new(GRUB_LIB).join("i386-pc/boot.img");
    let boot = fs::read(&boot_path).at(&boot_path)?;
    if boot.len() != 512 {
        return Err(Error::invalid(
            boot_path.display(),
            "size",
            "boot.img is not 512 bytes",
        ));
    }
    let mut core = fs::read(core_img).at(core_img)?;
    let sectors = (core.len() as u64).div_ceil(512);
    if sectors > max_sectors || core.len() < 512 {
        return Err(Error::invalid(
            core_img.display(),
            "size",
            format!("{sectors} sectors; the BIOS boot partition holds {max_sectors}"),
        ));
    }
    core.resize((sectors * 512) as usize, 0);
    // The block list grub-mkimage leaves already holds the length of the
    // rest; grub-bios-setup sets where it starts: right after sector one.
    core[BLOCKLIST_START..BLOCKLIST_START + 8].copy_from_slice(&(core_lba + 1).to_le_bytes());

    let mut mbr = [0u8; 512];
    let mut f = fs::File::options()
        .read(true)
        .write(true)
        .open(disk)
        .at(disk)?;
    f.read_exact(&mut mbr).at(disk)?;
    mbr[..MBR_CODE_END].copy_from_slice(&boot[..MBR_CODE_END]);
    mbr[BOOT_KERNEL_SECTOR..BOOT_KERNEL_SECTOR + 8].copy_from_slice(&core_lba.to_le_bytes());
    // A hard disk: skip boot.img's check for BIOSes that pass a floppy
    // drive number, as grub-bios-setup does.
    mbr[BOOT_DRIVE_CHECK] = 0x90;
    mbr[BOOT_DRIVE_CHECK + 1] = 0x90;
    f.seek(SeekFrom::Start(0)).at(disk)?;
    f.write_all(&mbr).at(disk)?;
    f.seek(SeekFrom::Start(core_lba * 512)).at(disk)?;
    f.write_all(&core).at(disk)?;
    f.sync_all().at(disk)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bios_install_patches_mbr_and_core_block_list() {
        if !Path::new(GRUB_LIB).join("i386-pc/boot.img").is_file() {
            eprintln!("skipping: grub-pc-bin is not installed");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let disk = dir.path().join("disk");
        let mut image = vec![0u8; 4 << 20];
        image[510] = 0x55;
        image[511] = 0xaa;
        image[446] = 0xee; // a protective MBR entry that must survive
        fs::write(&disk, &image).unwrap();
        let core = dir.path().join("core.img");
        fs::write(&core, vec![0x11u8; 3 * 512 - 100]).unwrap();
        assert!(
            install_bios(&disk, &core, 2048, 2).is_err(),
            "core larger than the partition"
        );
        install_bios(&disk, &core, 2048, 2048).unwrap();
        let out = fs::read(&disk).unwrap();
        let boot = fs::read(Path::new(GRUB_LIB).join("i386-pc/boot.img")).unwrap();
        assert_eq!(out[..BOOT_KERNEL_SECTOR], boot[..BOOT_KERNEL_SECTOR]);
        assert_eq!(
            out[BOOT_KERNEL_SECTOR..BOOT_KERNEL_SECTOR + 8],
            2048u64.to_le_bytes()
        );
        assert_eq!(out[BOOT_DRIVE_CHECK..BOOT_DRIVE_CHECK + 2], [0x90, 0x90]);
        assert_eq!((out[446], out[510], out[511]), (0xee, 0x55, 0xaa));
        let core_at = 2048 * 512;
        let list = core_at + BLOCKLIST_START;
        assert_eq!(out[list..list + 8], 2049u64.to_le_bytes());
        assert_eq!(out[core_at], 0x11);
        assert_eq!(out[core_at + 3 * 512 - 101], 0x11);
        assert_eq!(out[core_at + 3 * 512 - 100], 0);
    }

    #[test]
    fn configs_name_the_root_and_serial_console() {
        let early = early_config("u-1");
        assert!(early.contains("--fs-uuid --set=root u-1"));
        let cfg = grub_cfg("/boot/vmlinuz-6", "/boot/initrd.img-6", "u-1", " quiet ");
        assert!(cfg.contains(
            "linux /boot/vmlinuz-6 root=UUID=u-1 ro console=tty0 console=ttyS0,115200 quiet\n"
        ));
        assert!(cfg.contains("initrd /boot/initrd.img-6\n"));
    }
}
