//! Acceptance tests of `pig-build image --kind iso`: a hybrid live ISO made
//! from the shared d12 test bundle (`pig_tests::testbundle`) alone, a seed
//! that gives the qemu guest (10.0.2.15 on qemu's user network) the `node`
//! role injected afterwards with `pig-build image customize`, and the ISO
//! booted under qemu (TCG) as a BIOS CD until pig-install's first boot,
//! having found the seed in the live medium's seed area, prints
//! `PIG-FIRSTBOOT-COMPLETE status=ok`; two builds compared byte for byte.
//!
//! The rootfs is cached by its inputs in /var/tmp/pig-images-cache (shared
//! with the raw image's, since `base` holds live-boot); the boot takes
//! several minutes under TCG, most of it apt installing the node role's
//! packages from the ISO's /www/pigsty.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use pig_tests::run;
use pig_tests::testbundle::sha256_file;

const PIG_BUILD: &str = env!("CARGO_BIN_EXE_pig-build");
const EPOCH: &str = "1700000000";
const GUEST_IP: &str = "10.0.2.15";
const BOOT_TIMEOUT_SECONDS: &str = "2400";

struct Fixture {
    dir: PathBuf,
    bundle: PathBuf,
    /// The ISO as built, with an empty seed area.
    iso: PathBuf,
    iso_summary: serde_json::Value,
    /// `iso` with the node seed put in by `image customize`.
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
    if let Some(why) = pig_tests::missing_tool(&tools) {
        return Some(why);
    }
    for path in ["/usr/lib/grub/i386-pc", "/usr/lib/grub/x86_64-efi"] {
        if !Path::new(path).exists() {
            return Some(format!(
                "{path} is missing (grub-pc-bin, grub-efi-amd64-bin)"
            ));
        }
    }
    if !Path::new("/etc/apt/sources.list.d").is_dir() {
        return Some("no Debian mirror configured to build the bundle from".into());
    }
    None
}

/// `pig-build image --kind iso` without a seed: an empty seed area.
fn build(bundle: &Path, out: &Path) -> serde_json::Value {
    let started = Instant::now();
    let output = run(Command::new(PIG_BUILD)
        .args(["image", "--json", "--kind", "iso", "--bundle"])
        .arg(bundle)
        .arg("--out")
        .arg(out)
        .env("SOURCE_DATE_EPOCH", EPOCH));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["kind"], "iso");
    eprintln!(
        "iso {}: {} bytes, kernel {}, built in {:.1} s (rootfs {} s, cached {}, iso {} s)",
        out.display(),
        summary["size_bytes"],
        summary["kernel_release"],
        started.elapsed().as_secs_f64(),
        summary["rootfs_seconds"],
        summary["rootfs_cached"],
        summary["disk_seconds"]
    );
    summary
}

fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            if let Some(why) = missing_prerequisite() {
                eprintln!("skipping: {why}");
                return None;
            }
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pig-build-image-iso");
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let bundle = pig_tests::testbundle::d12(&pig_tests::testbundle::MODULES)
                .unwrap_or_else(|e| panic!("no bundle for the image: {e}"));
            let iso = dir.join("a.iso");
            let iso_summary = build(&bundle, &iso);
            let seed = pig_tests::testbundle::node_only_seed(&dir, GUEST_IP);
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
}

#[test]
fn same_inputs_give_byte_identical_isos_and_customize_refuses_bad_seeds() {
    let Some(fx) = fixture() else { return };
    let second = fx.dir.join("b.iso");
    let summary = build(&fx.bundle, &second);
    let (a, b) = (sha256_file(&fx.iso).unwrap(), sha256_file(&second).unwrap());
    eprintln!("iso sha256 {a}");
    assert_eq!(a, b, "two builds from the same inputs differ");
    assert_eq!(summary["volume_uuid"], fx.iso_summary["volume_uuid"]);
    std::fs::remove_file(&second).unwrap();

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
}
