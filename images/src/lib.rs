//! Bootable node images made from a pig bundle alone.
//!
//! The pipeline, each step a module:
//! [`rootfs`] installs a Debian root with mmdebstrap into a tarball (cached);
//! [`disk`] turns that tarball into a GPT disk with a BIOS boot partition,
//! an ESP and an ext4 root ([`ext4`], [`esp`], [`gpt`], [`grub`]), without
//! root privileges, loop devices or mounts, byte-identical for the same
//! inputs; [`disk::to_qcow2`] converts it; [`boot`] boots an image under
//! qemu (SeaBIOS or OVMF) and waits for a marker on the serial console.
//! [`live`] makes a live-boot system (kernel, initrd, squashfs root) that
//! [`iso`] packs into a hybrid ISO with a seed area ([`seed_area`], found
//! through [`iso9660`]) and [`pxe`] lays out for network boot; [`bundle`]
//! makes a pig bundle the only package source of a node image.

pub mod boot;
pub mod bundle;
pub mod disk;
pub mod error;
pub mod esp;
pub mod ext4;
pub mod gpt;
pub mod grub;
pub mod ids;
pub mod iso;
pub mod iso9660;
pub mod live;
pub mod pxe;
pub mod rootfs;
pub mod seed_area;
mod tool;

pub use boot::{BootReport, Firmware, Medium, boot_check, boot_medium};
pub use disk::{DiskReport, DiskSpec, Embed, ImageKind, build_disk, build_raw, to_qcow2};
pub use error::{Error, Result};
pub use iso::{IsoReport, IsoSpec, build_iso};
pub use pxe::{PxeReport, PxeSpec, build_pxe};
pub use rootfs::{Rootfs, RootfsSource, build_rootfs};

/// A temporary directory beside `out` (so on its file system), where an
/// output is built before it is renamed into place.
fn work_dir_beside(out: &std::path::Path, prefix: &str) -> Result<tempfile::TempDir> {
    use error::IoContext as _;
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(parent).at(parent)?;
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(parent)
        .at(parent)
}
