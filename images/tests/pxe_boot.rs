//! Acceptance test of the PXE set: a rootfs with live-boot from the host's
//! Debian mirror laid out as a PXE set with the node seed as a second
//! initrd, booted under qemu (TCG, SeaBIOS) from the network: qemu's
//! user-mode DHCP and built-in TFTP serve the set (restricted: the guest
//! reaches nothing else), the NIC's iPXE ROM runs `boot.ipxe`, live-boot
//! fetches the squashfs over TFTP, and the node prints the seed it found
//! in /run/pig and a marker.

mod live_common;

use std::path::PathBuf;

use live_common::{SEED_YAML, boot, live_embeds, live_rootfs, printed_seed};
use pig_images::{Firmware, Medium, PxeSpec};

const EPOCH: u64 = 1_700_000_000;
/// qemu's user-mode network puts its TFTP server at this address.
const SQUASHFS_URL: &str = "tftp://10.0.2.2/filesystem.squashfs";

#[test]
fn pxe_set_boots_over_qemu_tftp_with_the_seed_initrd() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pig-images-pxe-boot");
    let Some(rootfs) = live_rootfs(&dir, EPOCH, &[]) else {
        return;
    };
    let spec = PxeSpec {
        epoch: EPOCH,
        squashfs_url: SQUASHFS_URL.to_string(),
        cmdline: String::new(),
        embeds: live_embeds(),
        node_seed: Some(SEED_YAML.as_bytes().to_vec()),
    };
    let set = dir.join("pxe");
    let report = pig_images::build_pxe(&rootfs, &spec, &set).unwrap();
    eprintln!("PXE set built in {:.1} s:", report.seconds);
    for (name, size) in &report.files {
        eprintln!("  {name}: {size} bytes");
    }
    for name in [
        "boot.ipxe",
        "pxelinux.0",
        "pxelinux.cfg/default",
        "seed.cpio",
    ] {
        assert!(set.join(name).is_file(), "{name} missing");
    }
    // A second build into a non-empty directory is refused up front.
    assert!(pig_images::build_pxe(&rootfs, &spec, &set).is_err());

    let booted = boot(
        Medium::Network {
            tftp_root: &set,
            bootfile: "boot.ipxe",
        },
        Firmware::Bios,
    );
    assert_eq!(printed_seed(&booted), SEED_YAML);
}
