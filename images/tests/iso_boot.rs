//! Acceptance tests of the hybrid ISO: a rootfs with live-boot from the
//! host's Debian mirror, packed into an ISO; a seed injected in place with
//! `customize`; the ISO booted under qemu (TCG) as a UEFI USB disk (OVMF)
//! until the live system prints the seed it found on its boot medium and a
//! marker; two builds compared byte for byte. The BIOS CD boot is shown by
//! pig-build's test (builder/tests/image_iso.rs), from a bundle, up to the
//! node role applied.
//!
//! The rootfs is cached in /var/tmp/pig-images-cache. The boot takes a few
//! minutes under TCG.

mod live_common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use live_common::{SEED_YAML, boot, live_embeds, live_rootfs, printed_seed};
use pig_images::{Firmware, IsoReport, IsoSpec, Medium, seed_area};
use sha2::{Digest, Sha256};

const EPOCH: u64 = 1_700_000_000;

struct Fixture {
    dir: PathBuf,
    rootfs: PathBuf,
    iso: IsoReport,
    /// `iso` with [`SEED_YAML`] injected by `customize`.
    seeded: PathBuf,
}

fn spec() -> IsoSpec {
    let mut spec = IsoSpec::new("pig-images-iso-test", EPOCH);
    spec.embeds = live_embeds();
    spec
}

fn build(rootfs: &Path, out: &Path) -> IsoReport {
    let report = pig_images::build_iso(rootfs, &spec(), out).unwrap();
    eprintln!(
        "{}: {} bytes (squashfs {} bytes, kernel {}) built in {:.1} s",
        out.display(),
        report.size_bytes,
        report.squashfs_bytes,
        report.kernel_release,
        report.seconds
    );
    report
}

fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pig-images-iso-boot");
            let rootfs = live_rootfs(&dir, EPOCH, &["xorriso", "mformat", "mcopy"])?;
            let iso = build(&rootfs, &dir.join("a.iso"));
            let seeded = dir.join("seeded.iso");
            let started = Instant::now();
            seed_area::customize(&iso.path, SEED_YAML.as_bytes(), &seeded).unwrap();
            eprintln!("customize: {:.2} s", started.elapsed().as_secs_f64());
            Some(Fixture {
                dir,
                rootfs,
                iso,
                seeded,
            })
        })
        .as_ref()
}

#[test]
fn iso_boots_as_a_uefi_usb_disk_and_finds_the_injected_seed() {
    let Some(fx) = fixture() else { return };
    let report = boot(Medium::UsbDisk(&fx.seeded), Firmware::Uefi);
    assert_eq!(printed_seed(&report), SEED_YAML);
}

#[test]
fn same_inputs_give_byte_identical_isos_and_customize_changes_only_the_seed_area() {
    let Some(fx) = fixture() else { return };
    let second = build(&fx.rootfs, &fx.dir.join("b.iso"));
    let (a, b) = (sha256(&fx.iso.path), sha256(&second.path));
    eprintln!("sha256 {a}");
    assert_eq!(a, b, "two builds from the same inputs differ");
    std::fs::remove_file(&second.path).unwrap();

    let (plain, seeded) = (
        std::fs::read(&fx.iso.path).unwrap(),
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
        Some(SEED_YAML)
    );

    // Customizing again replaces the seed; one too large is refused and
    // leaves the output as it was.
    let again = fx.dir.join("again.iso");
    seed_area::customize(&fx.seeded, b"all: {}\n", &again).unwrap();
    let before = sha256(&again);
    let huge = vec![b'#'; seed_area::MAX_SEED_BYTES + 1];
    assert!(seed_area::customize(&fx.seeded, &huge, &again).is_err());
    assert_eq!(sha256(&again), before);
    // A file that is not a pig ISO is refused.
    let not_iso = fx.dir.join("not.iso");
    std::fs::write(&not_iso, vec![0u8; 64 * 2048]).unwrap();
    assert!(seed_area::customize(&not_iso, b"a: 1\n", &again).is_err());
    std::fs::remove_file(&again).unwrap();
}

fn sha256(path: &Path) -> String {
    let mut f = std::fs::File::open(path).unwrap();
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).unwrap();
    hex::encode(h.finalize())
}
