//! Acceptance tests of the live images, `pig-build image --kind iso` and
//! `--kind pxe`, made from the shared d12 test bundle
//! (`pig_tests::testbundle`) alone, with a seed that gives the qemu guest
//! (10.0.2.15 on qemu's user network) the `node` role:
//!
//! - the hybrid ISO, the seed injected afterwards with `pig-build image
//!   customize`, booted under qemu (TCG) as a BIOS CD and as a UEFI USB
//!   disk until pig-install's first boot, having found the seed in the live
//!   medium's seed area, prints `PIG-FIRSTBOOT-COMPLETE status=ok`; two
//!   builds compared byte for byte;
//! - the PXE set, the seed as its second initrd, booted from the network
//!   through qemu's built-in DHCP and TFTP (SeaBIOS, the NIC's iPXE ROM
//!   running `boot.ipxe`, live-boot fetching the squashfs over TFTP) to the
//!   same marker.
//!
//! The rootfs is cached by its inputs in /var/tmp/pig-images-cache (shared
//! with the raw image's, since `base` holds live-boot); each boot takes
//! several minutes under TCG, most of it apt installing the node role's
//! packages from the live system's /www/pigsty.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use pig_images::seed_area;
use pig_tests::run;
use pig_tests::testbundle::sha256_file;

const PIG_BUILD: &str = env!("CARGO_BIN_EXE_pig-build");
const GUEST_IP: &str = "10.0.2.15";
const BOOT_TIMEOUT_SECONDS: &str = "2400";
/// qemu's user-mode network puts its TFTP server at this address.
const PXE_ROOT_URL: &str = "tftp://10.0.2.2/filesystem.squashfs";

struct Fixture {
    /// Shared by the four tests.
    dir: pig_tests::FixtureDir,
    bundle: PathBuf,
    /// The ISO as built, with an empty seed area.
    iso: PathBuf,
    iso_summary: serde_json::Value,
    /// The node seed.
    seed: PathBuf,
    /// `iso` with `seed` put in by `image customize`.
    seeded: PathBuf,
}

/// Why the tests cannot run here, if they cannot.
fn missing_prerequisite() -> Option<String> {
    let tools = [
        "mmdebstrap",
        "unshare",
        "mksquashfs",
        "xorriso",
        "mkfs.vfat",
        "mformat",
        "mcopy",
        "grub-mkimage",
        "qemu-system-x86_64",
    ];
    let pxe = [
        ("/usr/lib/PXELINUX/pxelinux.0", "pxelinux"),
        (
            "/usr/lib/syslinux/modules/bios/ldlinux.c32",
            "syslinux-common",
        ),
    ];
    pig_tests::missing_prerequisite(&tools, &pig_tests::BOOT_FIRMWARE_FILES)
        .or_else(|| pig_tests::missing_prerequisite(&[], &pxe))
        .or_else(pig_tests::testbundle::missing_mirror)
}

/// `pig-build image --kind iso` without a seed: an empty seed area.
fn build(bundle: &Path, out: &Path) -> serde_json::Value {
    let args = [OsStr::new("--bundle"), bundle.as_os_str()];
    pig_tests::image_build(Path::new(PIG_BUILD), "iso", &args, out)
}

fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let (dir, bundle) = pig_tests::image_fixture(
                missing_prerequisite(),
                PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pig-build-image-live"),
                4,
            )?;
            let iso = dir.join("a.iso");
            let iso_summary = build(&bundle, &iso);
            let seed = pig_tests::testbundle::node_only_seed(dir.path(), GUEST_IP);
            let seeded = dir.join("seeded.iso");
            let started = Instant::now();
            let out = run(Command::new(PIG_BUILD)
                .args(["image", "customize", "--json", "--seed"])
                .arg(&seed)
                .arg(&iso)
                .arg(&seeded));
            let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(
                summary["seed_sha256"].as_str().unwrap(),
                sha256_file(&seed).unwrap(),
                "{summary}"
            );
            eprintln!("image customize: {:.2} s", started.elapsed().as_secs_f64());
            Some(Fixture {
                dir,
                bundle,
                iso,
                iso_summary,
                seed,
                seeded,
            })
        })
        .as_ref()
}

#[test]
fn iso_with_a_customized_seed_applies_the_node_role_as_a_bios_cd() {
    let Some(fx) = fixture() else { return };
    let report = pig_tests::first_boot_check(
        Path::new(PIG_BUILD),
        &fx.seeded,
        "bios",
        BOOT_TIMEOUT_SECONDS,
    );
    assert_eq!(report["medium"], "cdrom");
    fx.dir.release();
}

#[test]
fn iso_with_a_customized_seed_applies_the_node_role_as_a_uefi_usb_disk() {
    let Some(fx) = fixture() else { return };
    let report = pig_tests::first_boot_check(
        Path::new(PIG_BUILD),
        &fx.seeded,
        "uefi",
        BOOT_TIMEOUT_SECONDS,
    );
    assert_eq!(report["medium"], "usb-disk");
    fx.dir.release();
}

#[test]
fn pxe_set_with_a_seed_initrd_applies_the_node_role_over_qemu_tftp() {
    let Some(fx) = fixture() else { return };
    let set = fx.dir.join("pxe");
    let args = [
        OsStr::new("--root-url"),
        OsStr::new(PXE_ROOT_URL),
        OsStr::new("--bundle"),
        fx.bundle.as_os_str(),
        OsStr::new("--seed"),
        fx.seed.as_os_str(),
    ];
    let summary = pig_tests::image_build(Path::new(PIG_BUILD), "pxe", &args, &set);
    assert_eq!(summary["root_url"], PXE_ROOT_URL);
    for name in [
        "vmlinuz",
        "initrd.img",
        "filesystem.squashfs",
        "seed.cpio",
        "boot.ipxe",
        "pxelinux.0",
        "pxelinux.cfg/default",
    ] {
        assert!(set.join(name).is_file(), "{name} missing from the PXE set");
    }
    let report =
        pig_tests::first_boot_check(Path::new(PIG_BUILD), &set, "bios", BOOT_TIMEOUT_SECONDS);
    assert_eq!(report["medium"], "network");
    fx.dir.release();
}

#[test]
fn same_inputs_give_byte_identical_isos_and_customize_changes_only_the_seed_area() {
    let Some(fx) = fixture() else { return };
    let second = fx.dir.join("b.iso");
    let summary = build(&fx.bundle, &second);
    let (a, b) = (sha256_file(&fx.iso).unwrap(), sha256_file(&second).unwrap());
    eprintln!("iso sha256 {a}");
    assert_eq!(a, b, "two builds from the same inputs differ");
    assert_eq!(summary["volume_uuid"], fx.iso_summary["volume_uuid"]);
    std::fs::remove_file(&second).unwrap();

    // `customize` rewrote one seed area, which now decodes to the seed.
    let (plain, seeded) = (
        std::fs::read(&fx.iso).unwrap(),
        std::fs::read(&fx.seeded).unwrap(),
    );
    assert_eq!(plain.len(), seeded.len());
    let changed: Vec<usize> = (0..plain.len())
        .filter(|&i| plain[i] != seeded[i])
        .collect();
    let (first, last) = (changed[0], changed[changed.len() - 1]);
    assert!(
        last - first < seed_area::AREA_BYTES,
        "bytes changed outside one seed area: {first}..={last}"
    );
    let area = &seeded[first - first % 2048..][..seed_area::AREA_BYTES];
    assert_eq!(
        seed_area::decode(area, "seeded.iso").unwrap().as_deref(),
        Some(std::fs::read_to_string(&fx.seed).unwrap().as_str())
    );
    drop((plain, seeded));

    // Customizing again replaces the seed; one too large is refused and
    // leaves the output as it was.
    let again = fx.dir.join("again.iso");
    seed_area::customize(&fx.seeded, b"all: {}\n", &again).unwrap();
    let before = sha256_file(&again).unwrap();
    let huge = vec![b'#'; seed_area::MAX_SEED_BYTES + 1];
    assert!(seed_area::customize(&fx.seeded, &huge, &again).is_err());
    assert_eq!(sha256_file(&again).unwrap(), before);
    std::fs::remove_file(&again).unwrap();
    // A file that is not a pig ISO is refused.
    let not_iso = fx.dir.join("not.iso");
    std::fs::write(&not_iso, vec![0u8; 64 * 2048]).unwrap();
    assert!(seed_area::customize(&not_iso, b"a: 1\n", &again).is_err());

    // A file that is not a seed is refused before the ISO is touched.
    let bad = fx.dir.join("bad.yml");
    std::fs::write(&bad, "just: a mapping\n").unwrap();
    let out_iso = fx.dir.join("never.iso");
    let out = Command::new(PIG_BUILD)
        .args(["image", "customize", "--seed"])
        .arg(&bad)
        .arg(&fx.iso)
        .arg(&out_iso)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!out_iso.exists());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no `all:` inventory"), "{err}");
    fx.dir.release();
}
