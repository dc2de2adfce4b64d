//! Acceptance tests of `pig-build image`: a node image made from the
//! shared d12 test bundle (`pig_tests::testbundle`) alone, with a seed that gives the qemu
//! guest (10.0.2.15 on qemu's user network) the `node` role, booted under
//! qemu (TCG) with SeaBIOS and with OVMF until pig-install's first boot
//! prints `PIG-FIRSTBOOT-COMPLETE status=ok`; two builds compared byte for
//! byte; the qcow2 kind.
//!
//! The rootfs is cached by its inputs in /var/tmp/pig-images-cache, so
//! only the first run pays for mmdebstrap (~4 min); each boot takes a few
//! minutes under TCG, most of it apt installing the node role's packages
//! from /www/pigsty inside the guest.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use pig_tests::run;
use pig_tests::testbundle::sha256_file;

const PIG_BUILD: &str = env!("CARGO_BIN_EXE_pig-build");
const GUEST_IP: &str = "10.0.2.15";
const BOOT_TIMEOUT_SECONDS: &str = "2400";

struct Fixture {
    /// Shared by the three tests that use the image.
    dir: pig_tests::FixtureDir,
    bundle: PathBuf,
    seed: PathBuf,
    raw: PathBuf,
    raw_summary: serde_json::Value,
}

/// Why the tests cannot run here, if they cannot.
fn missing_prerequisite() -> Option<String> {
    let tools = [
        "mmdebstrap",
        "unshare",
        "mkfs.ext4",
        "debugfs",
        "mkfs.vfat",
        "mcopy",
        "sfdisk",
        "grub-mkimage",
        "qemu-img",
        "qemu-system-x86_64",
        "strip",
    ];
    pig_tests::missing_prerequisite(&tools, &pig_tests::BOOT_FIRMWARE_FILES)
        .or_else(pig_tests::testbundle::missing_mirror)
}

/// A 4 GiB disk image of `kind` with the node seed.
fn build(bundle: &Path, seed: &Path, kind: &str, out: &Path) -> serde_json::Value {
    let args = [
        OsStr::new("--size"),
        OsStr::new("4G"),
        OsStr::new("--bundle"),
        bundle.as_os_str(),
        OsStr::new("--seed"),
        seed.as_os_str(),
    ];
    pig_tests::image_build(Path::new(PIG_BUILD), kind, &args, out)
}

fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let (dir, bundle) = pig_tests::image_fixture(
                missing_prerequisite(),
                PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pig-build-image-raw"),
                3,
            )?;
            let seed = pig_tests::testbundle::node_only_seed(dir.path(), GUEST_IP);
            let raw = dir.join("a.raw");
            let raw_summary = build(&bundle, &seed, "raw", &raw);
            Some(Fixture {
                dir,
                bundle,
                seed,
                raw,
                raw_summary,
            })
        })
        .as_ref()
}

fn check(image: &Path, firmware: &str) {
    pig_tests::first_boot_check(Path::new(PIG_BUILD), image, firmware, BOOT_TIMEOUT_SECONDS);
}

#[test]
fn raw_image_applies_the_node_role_under_seabios() {
    let Some(fx) = fixture() else { return };
    check(&fx.raw, "bios");
    fx.dir.release();
}

#[test]
fn raw_image_applies_the_node_role_under_ovmf() {
    let Some(fx) = fixture() else { return };
    check(&fx.raw, "uefi");
    fx.dir.release();
}

#[test]
fn same_inputs_give_byte_identical_images_and_qcow2_holds_the_same_disk() {
    let Some(fx) = fixture() else { return };
    let second = fx.dir.join("b.raw");
    let summary = build(&fx.bundle, &fx.seed, "raw", &second);
    let (a, b) = (sha256_file(&fx.raw).unwrap(), sha256_file(&second).unwrap());
    eprintln!("raw sha256 {a}");
    assert_eq!(a, b, "two builds from the same inputs differ");
    assert_eq!(summary["disk_guid"], fx.raw_summary["disk_guid"]);
    std::fs::remove_file(&second).unwrap();

    let qcow2 = fx.dir.join("a.qcow2");
    let summary = build(&fx.bundle, &fx.seed, "qcow2", &qcow2);
    assert_eq!(summary["disk_guid"], fx.raw_summary["disk_guid"]);
    let info = run(Command::new("qemu-img")
        .args(["info", "--output=json"])
        .arg(&qcow2));
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["format"], "qcow2");
    assert_eq!(info["virtual-size"], 4u64 << 30);
    // The guest sees the same disk: qemu-img compares the contents.
    run(Command::new("qemu-img")
        .args(["compare", "-f", "qcow2", "-F", "raw"])
        .arg(&qcow2)
        .arg(&fx.raw));
    eprintln!(
        "qcow2 {}: {} bytes on disk",
        qcow2.display(),
        std::fs::metadata(&qcow2).unwrap().len()
    );
    fx.dir.release();
}

#[test]
fn a_file_that_is_not_a_bundle_is_refused_and_leaves_no_image() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("pigsty-pkg-v0.d12.x86_64.tgz");
    std::fs::write(&fake, b"not a tarball").unwrap();
    let image = dir.path().join("never.raw");
    let out = Command::new(PIG_BUILD)
        .args(["image", "--bundle"])
        .arg(&fake)
        .arg("--out")
        .arg(&image)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(!image.exists());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unpacking the bundle"), "{err}");
}
