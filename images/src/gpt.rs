//! The partition table: a GPT written by sfdisk onto the disk file, with
//! the disk GUID and every partition GUID given, so it is reproducible.
//!
//! Layout (512-byte sectors, 1 MiB alignment): a 1 MiB BIOS boot partition
//! for GRUB's core image, the ESP, and the Linux root filling the rest.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

pub const SECTOR: u64 = 512;
/// 1 MiB in sectors: partitions start on MiB boundaries.
const ALIGN: u64 = 2048;
/// Sectors the backup GPT takes at the end of the disk (header + entries).
const BACKUP_GPT: u64 = 33;

/// GPT type of the BIOS boot partition GRUB embeds its core image in.
pub const TYPE_BIOS_BOOT: &str = "21686148-6449-6E6F-744E-656564454649";
/// GPT type of an EFI system partition.
pub const TYPE_ESP: &str = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
/// GPT type of an x86-64 Linux root (Discoverable Partitions Specification).
pub const TYPE_ROOT_X86_64: &str = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709";

/// One partition: where it is and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub name: &'static str,
    pub type_guid: &'static str,
    pub uuid: String,
    pub start: u64,
    pub sectors: u64,
}

impl Partition {
    pub fn offset_bytes(&self) -> u64 {
        self.start * SECTOR
    }
    pub fn size_bytes(&self) -> u64 {
        self.sectors * SECTOR
    }
}

/// The three partitions of a disk of `disk_bytes`, with an ESP of
/// `esp_bytes`; `uuid` names each partition's GUID by purpose.
pub fn layout(
    disk_bytes: u64,
    esp_bytes: u64,
    uuid: impl Fn(&str) -> String,
) -> Result<[Partition; 3]> {
    let total = disk_bytes / SECTOR;
    let bios_start = ALIGN;
    let esp_start = bios_start + ALIGN;
    let esp_sectors = esp_bytes.div_ceil(SECTOR).div_ceil(ALIGN) * ALIGN;
    let root_start = esp_start + esp_sectors;
    let root_end = total.saturating_sub(BACKUP_GPT + 1) / ALIGN * ALIGN;
    if root_end <= root_start + ALIGN * 64 {
        return Err(Error::invalid(
            format!("{disk_bytes} bytes"),
            "disk size",
            "too small for the BIOS boot partition, the ESP and a root of 64 MiB",
        ));
    }
    Ok([
        Partition {
            name: "bios",
            type_guid: TYPE_BIOS_BOOT,
            uuid: uuid("part-bios"),
            start: bios_start,
            sectors: ALIGN,
        },
        Partition {
            name: "esp",
            type_guid: TYPE_ESP,
            uuid: uuid("part-esp"),
            start: esp_start,
            sectors: esp_sectors,
        },
        Partition {
            name: "root",
            type_guid: TYPE_ROOT_X86_64,
            uuid: uuid("part-root"),
            start: root_start,
            sectors: root_end - root_start,
        },
    ])
}

/// The sfdisk script for `parts` on a disk with GUID `disk_uuid`.
pub fn sfdisk_script(disk_uuid: &str, parts: &[Partition]) -> String {
    let mut s = format!("label: gpt\nlabel-id: {disk_uuid}\nunit: sectors\nsector-size: 512\n\n");
    for p in parts {
        s.push_str(&format!(
            "start={}, size={}, type={}, uuid={}, name=\"{}\"\n",
            p.start, p.sectors, p.type_guid, p.uuid, p.name
        ));
    }
    s
}

/// Write the partition table described by `script` onto the disk file.
pub fn write(disk: &Path, script: &str) -> Result<()> {
    let fail = |message: String| Error::Tool {
        tool: "sfdisk".into(),
        step: "writing the partition table".into(),
        message,
    };
    let mut child = Command::new("sfdisk")
        .args(["--quiet", "--no-reread", "--no-tell-kernel", "--wipe=never"])
        .arg(disk)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot start: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| fail(format!("writing the script: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| fail(format!("waiting: {e}")))?;
    if !out.status.success() {
        return Err(fail(format!(
            "{}; stderr ends:\n{}",
            out.status,
            crate::tool::tail(&out.stderr)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_aligned_and_fits() {
        let disk = 2u64 << 30;
        let parts = layout(disk, 64 << 20, |p| p.to_string()).unwrap();
        assert_eq!(parts[0].start, 2048);
        assert_eq!(parts[1].start, 4096);
        assert_eq!(parts[2].start, 4096 + 131072);
        for p in &parts {
            assert_eq!(p.start % ALIGN, 0);
        }
        let end = parts[2].start + parts[2].sectors;
        assert!(end < disk / SECTOR - BACKUP_GPT);
        assert!(layout(100 << 20, 64 << 20, |p| p.to_string()).is_err());
    }

    #[test]
    fn script_names_every_guid() {
        let parts = layout(1 << 30, 32 << 20, |p| format!("uuid-{p}")).unwrap();
        let s = sfdisk_script("disk-id", &parts);
        assert!(s.starts_with("label: gpt\nlabel-id: disk-id\n"));
        assert!(s.contains("type=21686148-6449-6E6F-744E-656564454649, uuid=uuid-part-bios"));
        assert!(s.contains("uuid=uuid-part-root, name=\"root\""));
    }
}
