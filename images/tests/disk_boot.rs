//! The disk layer on its own: a rootfs from the host's Debian mirror, a raw
//! GPT disk made from it without loop devices or mounts; two builds
//! compared byte for byte and every identifier derived from the seed; the
//! qcow2 conversion, grown, booted under qemu (TCG) to a first-boot marker.
//! Booting raw images under SeaBIOS and OVMF is proved end to end, on
//! images built from a bundle, by builder/tests/image_raw.rs.
//!
//! The rootfs is cached in /var/tmp/pig-images-cache, so only the first run
//! pays for mmdebstrap. Each boot takes about a minute under TCG.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pig_images::boot::{FIRSTBOOT_MARKER, marker_embeds};
use pig_images::{BootReport, DiskReport, DiskSpec, Firmware, ImageKind, RootfsSource};

const EPOCH: u64 = 1_700_000_000;
const DISK_BYTES: u64 = 2 << 30;
const SEED: &str = "pig-images-test";
const BOOT_TIMEOUT: Duration = Duration::from_secs(900);

struct Fixture {
    /// Shared by the two tests.
    dir: pig_tests::FixtureDir,
    rootfs: PathBuf,
    raw: DiskReport,
}

/// Why the tests cannot run here, if they cannot.
fn missing_prerequisite() -> Option<String> {
    let tools = [
        "mmdebstrap",
        "mkfs.ext4",
        "debugfs",
        "mkfs.vfat",
        "mcopy",
        "sfdisk",
        "grub-mkimage",
        "qemu-img",
        "qemu-system-x86_64",
    ];
    pig_tests::missing_prerequisite(&tools, &pig_tests::BOOT_FIRMWARE_FILES)
}

/// The rootfs and the raw image every test uses, built once per run.
fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            if let Some(why) = missing_prerequisite() {
                eprintln!("skipping: {why}");
                return None;
            }
            let source = match RootfsSource::from_host_apt() {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("skipping: no Debian mirror configured on this host: {e}");
                    return None;
                }
            };
            let dir = pig_tests::FixtureDir::new(
                PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pig-images-disk-boot"),
                2,
            );
            let rootfs = pig_images::build_rootfs(&source, &[], Some(EPOCH), dir.path()).unwrap();
            eprintln!(
                "rootfs: {} bytes in {:.1} s (cached: {})",
                std::fs::metadata(&rootfs.tar).unwrap().len(),
                rootfs.seconds,
                rootfs.cached
            );
            let raw = build(&rootfs.tar, &dir.join("a.raw"));
            Some(Fixture {
                dir,
                rootfs: rootfs.tar,
                raw,
            })
        })
        .as_ref()
}

fn spec() -> DiskSpec {
    let mut spec = DiskSpec::new(DISK_BYTES, SEED, EPOCH);
    spec.embeds = marker_embeds(FIRSTBOOT_MARKER);
    spec.embeds.push(pig_images::Embed::file(
        "/etc/pigsty/seed.yml",
        "all: {}\n",
        0o600,
    ));
    spec
}

fn build(rootfs: &Path, out: &Path) -> DiskReport {
    let report = pig_images::build_raw(rootfs, &spec(), out).unwrap();
    eprintln!(
        "{}: {} bytes ({} allocated) built in {:.1} s",
        out.display(),
        report.size_bytes,
        report.allocated_bytes,
        report.seconds
    );
    report
}

fn boot(image: &Path, firmware: Firmware) -> BootReport {
    let report = pig_images::boot_check(image, firmware, FIRSTBOOT_MARKER, BOOT_TIMEOUT)
        .unwrap_or_else(|e| panic!("{firmware:?} boot of {}: {e}", image.display()));
    eprintln!(
        "{firmware:?} boot of {} reached the marker in {:.1} s",
        image.display(),
        report.seconds
    );
    report
}

/// The root file system size the marker unit printed. A getty prompt may
/// share the serial line with it (`localhost login: PIG-ROOT-BYTES=…`).
fn root_bytes(report: &BootReport) -> u64 {
    report
        .log_tail
        .lines()
        .find_map(|l| l.split_once("PIG-ROOT-BYTES=").map(|(_, v)| v))
        .and_then(|v| {
            let digits: String = v.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .unwrap_or_else(|| panic!("no PIG-ROOT-BYTES line in:\n{}", report.log_tail))
}

fn sha256(path: &Path) -> String {
    pig_tests::testbundle::sha256_file(path).unwrap()
}

#[test]
fn same_inputs_give_byte_identical_raw_images() {
    let Some(fx) = fixture() else { return };
    let second = build(&fx.rootfs, &fx.dir.join("b.raw"));
    let started = Instant::now();
    let (a, b) = (sha256(&fx.raw.path), sha256(&second.path));
    eprintln!(
        "sha256 {a} ({:.1} s for both)",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(a, b, "two builds from the same inputs differ");
    assert_eq!(fx.raw.disk_guid, second.disk_guid);

    // The table sfdisk reads back carries the derived GUIDs.
    let dump = Command::new("sfdisk")
        .arg("--json")
        .arg(&second.path)
        .output()
        .unwrap();
    let dump = String::from_utf8_lossy(&dump.stdout).to_lowercase();
    assert!(dump.contains(&second.disk_guid), "{dump}");
    for p in &second.partitions {
        assert!(
            dump.contains(&p.uuid) && dump.contains(&p.type_guid.to_lowercase()),
            "{dump}"
        );
    }
    std::fs::remove_file(&second.path).unwrap();

    // Another seed changes every identifier; built straight to qcow2.
    let mut other = spec();
    other.seed = "another-node".into();
    let c_path = fx.dir.join("c.qcow2");
    let c = pig_images::build_disk(&fx.rootfs, &other, ImageKind::Qcow2, &c_path).unwrap();
    assert_ne!(c.disk_guid, second.disk_guid);
    assert_ne!(c.root_fs_uuid, second.root_fs_uuid);
    assert_ne!(c.partitions[2].uuid, second.partitions[2].uuid);
    let info = Command::new("qemu-img")
        .arg("info")
        .arg(&c_path)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&info.stdout).contains("file format: qcow2"));
    let left: Vec<_> = std::fs::read_dir(fx.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("c.") && n != "c.qcow2")
        .collect();
    assert!(left.is_empty(), "intermediate files left: {left:?}");
    std::fs::remove_file(&c_path).unwrap();
    fx.dir.release();
}

#[test]
fn qcow2_conversion_boots_and_root_grows_to_fill_the_disk() {
    let Some(fx) = fixture() else { return };
    let qcow2 = fx.dir.join("a.qcow2");
    pig_images::to_qcow2(&fx.raw.path, &qcow2).unwrap();
    let size = std::fs::metadata(&qcow2).unwrap().len();
    eprintln!("{}: {size} bytes", qcow2.display());
    // The conversion is as reproducible as the raw image.
    let again = fx.dir.join("again.qcow2");
    pig_images::to_qcow2(&fx.raw.path, &again).unwrap();
    assert_eq!(sha256(&qcow2), sha256(&again), "two conversions differ");
    std::fs::remove_file(&again).unwrap();
    // A bigger virtual disk than the image was built for: the first boot
    // must grow the root partition and file system into it.
    let status = Command::new("qemu-img")
        .args(["resize", "-q", "-f", "qcow2"])
        .arg(&qcow2)
        .arg("+1G")
        .status()
        .unwrap();
    assert!(status.success());
    let report = boot(&qcow2, Firmware::Bios);
    let grown = root_bytes(&report);
    let built = fx.raw.partitions[2].size_bytes();
    eprintln!("root file system: partition {built} bytes at build, {grown} bytes after first boot");
    assert!(
        grown > built + (900 << 20),
        "root did not grow: {grown} bytes"
    );
    fx.dir.release();
}
