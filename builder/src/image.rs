//! `pig-build image`: a bootable node disk from a bundle alone, and
//! `pig-build image check`: boot one under qemu to the first-boot marker,
//! and `pig-build image customize`: put a seed into a built ISO.
//!
//! Steps of a build: unpack the bundle into the image cache (keyed by its
//! digest), read `MANIFEST.json` for the `base` module, install it and
//! pig-install with mmdebstrap from the bundle's signed repository in a
//! network namespace with no network (cached by its inputs), then lay out
//! the disk with pig-images (GPT, BIOS boot, ESP, ext4 root) with the seed
//! and the repository embedded (or, for an ISO or a PXE set, pack it as a
//! live system with the seed in the ISO's seed area or in a seed initrd).
//! Every identifier in the disk derives from
//! one value, the sha256 of the bundle, the seed and the options; every
//! time stamp is `SOURCE_DATE_EPOCH`, by default the bundle's own date.

use std::fs;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use pig_images::boot::FIRSTBOOT_MARKER;
use pig_images::bundle::{self as image_bundle, INSTALLER_PACKAGE};
use pig_images::{DiskSpec, Firmware, ImageKind, IsoSpec, Medium, PxeSpec, seed_area};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::bundle_layout::{BundleKind, MANIFEST, Manifest};
use crate::cmdline::{
    FirmwareArg, ImageArgs, ImageBuildArgs, ImageCheckArgs, ImageCommand, ImageCustomizeArgs,
    ImageKindArg,
};

/// The bundle module every image installs.
pub const BASE_MODULE: &str = "base";
/// The package an ISO or PXE root needs to boot live (in `base` for d12).
pub const LIVE_PACKAGE: &str = "live-boot";
/// The iPXE script of a PXE set: qemu's DHCP boot file in `image check`.
pub const PXE_BOOTFILE: &str = "boot.ipxe";

/// What an image build made.
#[derive(Debug, Serialize)]
pub struct ImageSummary {
    pub image: PathBuf,
    pub kind: &'static str,
    /// The image's size; for a PXE set, the sum of its files.
    pub size_bytes: u64,
    /// Bytes the image occupies on disk (raw images are sparse).
    pub allocated_bytes: u64,
    pub bundle_sha256: String,
    pub seed_sha256: Option<String>,
    pub with_repo: bool,
    /// The value every GUID and UUID of the disk is derived from.
    pub id_seed: String,
    pub source_date_epoch: u64,
    /// The GPT disk GUID (raw, qcow2, and the ISO's hybrid GPT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_guid: Option<String>,
    /// The ext4 root's UUID (raw, qcow2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_fs_uuid: Option<String>,
    /// The ISO 9660 volume UUID GRUB searches for (iso).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_uuid: Option<String>,
    /// Where nodes fetch filesystem.squashfs from (pxe).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_url: Option<String>,
    /// The files of the set with their sizes (pxe).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ImageFile>,
    /// The live system's kernel (iso, pxe).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_release: Option<String>,
    /// Packages asked for (the base module and pig-install, and live-boot
    /// for iso and pxe).
    pub packages: usize,
    pub rootfs_cached: bool,
    pub rootfs_seconds: f64,
    /// Writing the disk, the ISO or the PXE set from the rootfs.
    pub disk_seconds: f64,
    pub seconds: f64,
}

/// A file of a PXE set.
#[derive(Debug, Serialize)]
pub struct ImageFile {
    /// Relative to the set's directory.
    pub name: String,
    pub size_bytes: u64,
}

/// What `image customize` wrote.
#[derive(Debug, Serialize)]
pub struct CustomizeSummary {
    pub input: PathBuf,
    pub output: PathBuf,
    pub seed_sha256: String,
    pub seed_bytes: usize,
    pub seconds: f64,
}

/// What a boot check saw.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub image: PathBuf,
    pub firmware: &'static str,
    /// What qemu booted from: disk, cdrom, usb-disk or network.
    pub medium: &'static str,
    /// The `status=` of the marker line: ok, failed or noseed.
    pub status: String,
    /// From starting qemu to the marker.
    pub seconds: f64,
    /// The end of the serial console.
    pub console_tail: String,
}

pub fn run(args: &ImageArgs) -> Result<()> {
    match &args.command {
        Some(ImageCommand::Check(check)) => run_check(check),
        Some(ImageCommand::Customize(customize)) => run_customize(customize),
        None => run_build(&args.build),
    }
}

fn run_build(args: &ImageBuildArgs) -> Result<()> {
    let summary = build_image(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        let size = match summary.kind {
            "raw" | "qcow2" => format!(
                "{:.1} GiB ({:.1} MiB allocated)",
                summary.size_bytes as f64 / f64::from(1u32 << 30),
                summary.allocated_bytes as f64 / 1048576.0
            ),
            _ => format!("{:.1} MiB", summary.size_bytes as f64 / 1048576.0),
        };
        println!(
            "{}: {} image, {size}, {} packages{}{}, built in {:.1} s \
             (rootfs {:.1} s{}, {} {:.1} s)",
            summary.image.display(),
            summary.kind,
            summary.packages,
            if summary.with_repo {
                ", repository in /www/pigsty"
            } else {
                ""
            },
            match (summary.seed_sha256.is_some(), summary.kind) {
                (false, _) => "",
                (true, "iso") => ", seed in the seed area",
                (true, "pxe") => ", seed in seed.cpio",
                (true, _) => ", seed embedded",
            },
            summary.seconds,
            summary.rootfs_seconds,
            if summary.rootfs_cached {
                ", cached"
            } else {
                ""
            },
            summary.kind,
            summary.disk_seconds
        );
        if let Some(url) = &summary.root_url {
            println!(
                "serve {}/filesystem.squashfs at {url}; boot {PXE_BOOTFILE} (iPXE) or pxelinux.0",
                summary.image.display()
            );
        }
    }
    Ok(())
}

fn progress(message: &str) {
    eprintln!("pig-build image: {message}");
}

/// A size with an optional K, M, G or T suffix (powers of 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, shift) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => return Err(format!("{text:?}: unknown suffix {c:?} (K, M, G or T)")),
            };
            (&text[..i], shift)
        }
        _ => (text, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?}: expected a number with an optional K, M, G or T"))?;
    n.checked_mul(1u64 << shift)
        .filter(|&b| b > 0)
        .ok_or_else(|| format!("{text:?}: out of range"))
}

/// The value every identifier of the disk derives from: the bundle, the
/// seed and the options that change the content. The kind is not among
/// them: a qcow2 holds the same disk as the raw image.
pub fn id_seed(bundle_sha256: &str, seed_sha256: Option<&str>, with_repo: bool) -> String {
    let mut h = Sha256::new();
    h.update(b"pig-build image v1\0");
    h.update(bundle_sha256.as_bytes());
    h.update(b"\0");
    h.update(seed_sha256.unwrap_or("-").as_bytes());
    h.update(if with_repo { b"\0repo" } else { b"\0slim" });
    hex::encode(h.finalize())
}

/// `SOURCE_DATE_EPOCH` if set, else the bundle's own date: the same
/// bundle gives the same image without any environment.
fn image_epoch(manifest: &Manifest) -> Result<u64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v
            .trim()
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={v:?}: expected seconds since 1970")),
        Err(_) => u64::try_from(manifest.source_date_epoch)
            .context("the bundle's source_date_epoch is before 1970"),
    }
}

/// The packages the image installs: the bundle's `base` module and
/// pig-install, which the bundle must hold, and for a live system
/// (`live`: iso, pxe) live-boot.
fn image_packages(manifest: &Manifest, input: &str, live: bool) -> Result<Vec<String>> {
    if manifest.kind != BundleKind::Deb {
        bail!("{input}: an RPM bundle; images are built from Debian bundles only");
    }
    let Some(base) = manifest.modules.get(BASE_MODULE) else {
        bail!(
            "{input}: no `{BASE_MODULE}` module (modules: {}); build the bundle with \
             --modules {BASE_MODULE},…",
            manifest
                .modules
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    if !manifest
        .packages
        .iter()
        .any(|p| p.name == INSTALLER_PACKAGE)
    {
        bail!("{input}: no {INSTALLER_PACKAGE} package; the bundle must be made by pig-build");
    }
    let mut packages = base.clone();
    packages.push(INSTALLER_PACKAGE.to_string());
    if live {
        if !manifest.packages.iter().any(|p| p.name == LIVE_PACKAGE) {
            bail!(
                "{input}: no {LIVE_PACKAGE} package, which an ISO or PXE root boots with; \
                 add it to the recipe's `{BASE_MODULE}` module"
            );
        }
        packages.push(LIVE_PACKAGE.to_string());
    }
    packages.sort();
    packages.dedup();
    Ok(packages)
}

/// Read the seed and refuse what cannot be one (pig-install validates it
/// fully on the node, before applying anything).
fn read_seed(path: &Path) -> Result<Vec<u8>> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = std::str::from_utf8(&bytes)
        .with_context(|| format!("{}: the seed is not UTF-8 text", path.display()))?;
    let doc: std::collections::BTreeMap<String, serde::de::IgnoredAny> =
        serde_saphyr::from_str(text)
            .with_context(|| format!("{}: not a YAML mapping", path.display()))?;
    if !doc.contains_key("all") {
        bail!(
            "{}: no `all:` inventory; make a seed with `pig-install seed init`",
            path.display()
        );
    }
    Ok(bytes)
}

/// Build the image `args` describe.
pub fn build_image(args: &ImageBuildArgs) -> Result<ImageSummary> {
    let started = Instant::now();
    let (Some(bundle), Some(out)) = (&args.bundle, &args.out) else {
        bail!("--bundle and --out are required");
    };
    match (args.kind, &args.root_url) {
        (ImageKindArg::Pxe, None) => bail!(
            "--kind pxe needs --root-url URL: where nodes will fetch the set's \
             filesystem.squashfs from"
        ),
        (ImageKindArg::Pxe, Some(_)) | (_, None) => {}
        (kind, Some(_)) => bail!("--root-url is for --kind pxe, not {}", kind_name(kind)),
    }
    let live = matches!(args.kind, ImageKindArg::Iso | ImageKindArg::Pxe);
    let seed = args.seed.as_deref().map(read_seed).transpose()?;
    let seed_sha256 = seed.as_deref().map(|s| hex::encode(Sha256::digest(s)));

    progress(&format!("unpacking {}", bundle.display()));
    let repo = image_bundle::unpack(bundle)?;
    let manifest_path = repo.repo.join(MANIFEST);
    let manifest = Manifest::load(&manifest_path)?;
    let input = bundle.display().to_string();
    let packages = image_packages(&manifest, &input, live)?;
    let epoch = image_epoch(&manifest)?;
    let with_repo = !args.without_repo;
    let id = id_seed(&repo.digest, seed_sha256.as_deref(), with_repo);

    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let work = tempfile::Builder::new()
        .prefix(".pig-image-build-")
        .tempdir_in(parent)
        .with_context(|| format!("making a work directory in {}", parent.display()))?;

    progress(&format!(
        "installing {} packages from the bundle alone (no network)",
        packages.len()
    ));
    let rootfs =
        pig_images::build_rootfs(&repo.rootfs_source(), &packages, Some(epoch), work.path())?;
    progress(&format!(
        "rootfs {} in {:.1} s",
        if rootfs.cached { "from cache" } else { "built" },
        rootfs.seconds
    ));

    let repo_dir = with_repo.then_some(repo.repo.as_path());
    let mut summary = ImageSummary {
        image: out.clone(),
        kind: kind_name(args.kind),
        size_bytes: 0,
        allocated_bytes: 0,
        bundle_sha256: repo.digest.clone(),
        seed_sha256,
        with_repo,
        id_seed: id.clone(),
        source_date_epoch: epoch,
        disk_guid: None,
        root_fs_uuid: None,
        volume_uuid: None,
        root_url: None,
        files: Vec::new(),
        kernel_release: None,
        packages: packages.len(),
        rootfs_cached: rootfs.cached,
        rootfs_seconds: rootfs.seconds,
        disk_seconds: 0.0,
        seconds: 0.0,
    };
    match args.kind {
        ImageKindArg::Raw | ImageKindArg::Qcow2 => {
            let mut spec = DiskSpec::new(args.size, &id, epoch);
            spec.embeds = image_bundle::node_embeds(seed.as_deref(), repo_dir);
            let kind = if args.kind == ImageKindArg::Raw {
                ImageKind::Raw
            } else {
                ImageKind::Qcow2
            };
            progress(&format!("writing the {} disk", kind_name(args.kind)));
            let disk = pig_images::build_disk(&rootfs.tar, &spec, kind, out)?;
            summary.size_bytes = disk.size_bytes;
            summary.allocated_bytes = disk.allocated_bytes;
            summary.disk_guid = Some(disk.disk_guid);
            summary.root_fs_uuid = Some(disk.root_fs_uuid);
            summary.disk_seconds = disk.seconds;
        }
        ImageKindArg::Iso => {
            let mut spec = IsoSpec::new(&id, epoch);
            // The seed goes into the seed area, never into the live root:
            // `image customize` must be able to replace it.
            spec.embeds = image_bundle::node_embeds(None, repo_dir);
            spec.node_seed = seed;
            progress("writing the hybrid ISO");
            let iso = pig_images::build_iso(&rootfs.tar, &spec, out)?;
            summary.size_bytes = iso.size_bytes;
            summary.allocated_bytes = allocated(out)?;
            summary.disk_guid = Some(iso.disk_guid);
            summary.volume_uuid = Some(iso.volume_uuid);
            summary.kernel_release = Some(iso.kernel_release);
            summary.disk_seconds = iso.seconds;
        }
        ImageKindArg::Pxe => {
            let root_url = args.root_url.clone().unwrap_or_default();
            let spec = PxeSpec {
                epoch,
                squashfs_url: root_url.clone(),
                cmdline: String::new(),
                embeds: image_bundle::node_embeds(None, repo_dir),
                node_seed: seed,
            };
            progress("writing the PXE set");
            let pxe = pig_images::build_pxe(&rootfs.tar, &spec, out)?;
            summary.files = pxe
                .files
                .into_iter()
                .map(|(name, size_bytes)| ImageFile { name, size_bytes })
                .collect();
            summary.size_bytes = summary.files.iter().map(|f| f.size_bytes).sum();
            summary.allocated_bytes = summary
                .files
                .iter()
                .map(|f| allocated(&out.join(&f.name)))
                .sum::<Result<u64>>()?;
            summary.root_url = Some(root_url);
            summary.kernel_release = Some(pxe.kernel_release);
            summary.disk_seconds = pxe.seconds;
        }
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Bytes `path` occupies on disk.
fn allocated(path: &Path) -> Result<u64> {
    let meta = fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(meta.blocks() * 512)
}

/// Put the seed `args` name into the seed area of a built ISO.
pub fn customize_iso(args: &ImageCustomizeArgs) -> Result<CustomizeSummary> {
    let started = Instant::now();
    let seed = read_seed(&args.seed)?;
    seed_area::customize(&args.input, &seed, &args.output)?;
    Ok(CustomizeSummary {
        input: args.input.clone(),
        output: args.output.clone(),
        seed_sha256: hex::encode(Sha256::digest(&seed)),
        seed_bytes: seed.len(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn run_customize(args: &ImageCustomizeArgs) -> Result<()> {
    let summary = customize_iso(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{}: seed {} ({} bytes, sha256 {}) in the seed area, from {}",
            summary.output.display(),
            args.seed.display(),
            summary.seed_bytes,
            summary.seed_sha256,
            summary.input.display()
        );
    }
    Ok(())
}

fn kind_name(kind: ImageKindArg) -> &'static str {
    match kind {
        ImageKindArg::Raw => "raw",
        ImageKindArg::Qcow2 => "qcow2",
        ImageKindArg::Iso => "iso",
        ImageKindArg::Pxe => "pxe",
    }
}

/// Whether `path` holds an ISO 9660 file system: the primary volume
/// descriptor's `CD001` at byte 32769 (sector 16, after its type byte).
fn is_iso9660(path: &Path) -> Result<bool> {
    let mut f = fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut id = [0u8; 5];
    let read = f
        .seek(SeekFrom::Start(16 * 2048 + 1))
        .and_then(|_| f.read_exact(&mut id));
    match read {
        Ok(()) => Ok(&id == b"CD001"),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn firmware_name(firmware: FirmwareArg) -> &'static str {
    match firmware {
        FirmwareArg::Bios => "bios",
        FirmwareArg::Uefi => "uefi",
    }
}

/// The `status=` word of the last marker line in `console`.
pub fn marker_status(console: &str) -> Option<String> {
    let line = console
        .lines()
        .rev()
        .find(|l| l.contains(FIRSTBOOT_MARKER))?;
    let (_, after) = line.split_once(FIRSTBOOT_MARKER)?;
    let value = after
        .split_whitespace()
        .find_map(|w| w.strip_prefix("status="))?;
    Some(value.to_string())
}

/// Boot the image and report the first-boot marker's status.
pub fn check_image(args: &ImageCheckArgs) -> Result<CheckReport> {
    let firmware = match args.firmware {
        FirmwareArg::Bios => Firmware::Bios,
        FirmwareArg::Uefi => Firmware::Uefi,
    };
    let (medium, medium_name) = if args.image.is_dir() {
        (
            Medium::Network {
                tftp_root: &args.image,
                bootfile: PXE_BOOTFILE,
            },
            "network",
        )
    } else if is_iso9660(&args.image)? {
        match firmware {
            Firmware::Bios => (Medium::Cdrom(&args.image), "cdrom"),
            Firmware::Uefi => (Medium::UsbDisk(&args.image), "usb-disk"),
        }
    } else {
        (Medium::Disk(&args.image), "disk")
    };
    progress(&format!(
        "booting {} from {medium_name} with {} under qemu (TCG), waiting up to {} s for \
         {FIRSTBOOT_MARKER}",
        args.image.display(),
        firmware_name(args.firmware),
        args.timeout
    ));
    let boot = pig_images::boot_medium(
        medium,
        firmware,
        FIRSTBOOT_MARKER,
        Duration::from_secs(args.timeout),
    )?;
    let status = marker_status(&boot.log_tail).unwrap_or_else(|| "unknown".to_string());
    Ok(CheckReport {
        image: args.image.clone(),
        firmware: firmware_name(args.firmware),
        medium: medium_name,
        status,
        seconds: boot.seconds,
        console_tail: boot.log_tail,
    })
}

fn run_check(args: &ImageCheckArgs) -> Result<()> {
    let report = check_image(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{}: {FIRSTBOOT_MARKER} status={} after {:.1} s ({}, {})",
            report.image.display(),
            report.status,
            report.seconds,
            report.firmware,
            report.medium
        );
    }
    if report.status != "ok" {
        bail!(
            "first boot of {} ended with status={}; console ends with:\n{}",
            report.image.display(),
            report.status,
            report.console_tail
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert!(parse_size("4X").unwrap_err().contains("suffix"));
        assert!(parse_size("G").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn id_seed_depends_on_bundle_seed_and_repo() {
        let a = id_seed("b", Some("s"), true);
        assert_eq!(a, id_seed("b", Some("s"), true));
        assert_ne!(a, id_seed("c", Some("s"), true));
        assert_ne!(a, id_seed("b", None, true));
        assert_ne!(a, id_seed("b", Some("s"), false));
    }

    fn build_args(kind: ImageKindArg, root_url: Option<&str>) -> ImageBuildArgs {
        ImageBuildArgs {
            kind,
            bundle: Some(PathBuf::from("/nonexistent/pigsty-pkg.tgz")),
            seed: None,
            size: 1 << 30,
            without_repo: false,
            root_url: root_url.map(str::to_string),
            out: Some(PathBuf::from("/nonexistent/out")),
            json: false,
        }
    }

    #[test]
    fn root_url_is_required_for_pxe_and_refused_for_other_kinds() {
        let err = build_image(&build_args(ImageKindArg::Pxe, None)).unwrap_err();
        assert!(err.to_string().contains("--root-url"), "{err}");
        let err = build_image(&build_args(ImageKindArg::Iso, Some("http://h/f"))).unwrap_err();
        assert!(
            err.to_string()
                .contains("--root-url is for --kind pxe, not iso"),
            "{err}"
        );
        // With the options right, the build gets as far as the bundle.
        let err = build_image(&build_args(ImageKindArg::Pxe, Some("http://h/f"))).unwrap_err();
        assert!(!err.to_string().contains("--root-url"), "{err}");
    }

    #[test]
    fn iso9660_is_told_apart_by_its_volume_descriptor() {
        let dir = tempfile::tempdir().unwrap();
        let iso = dir.path().join("a.iso");
        let mut bytes = vec![0u8; 17 * 2048];
        bytes[16 * 2048] = 1;
        bytes[16 * 2048 + 1..16 * 2048 + 6].copy_from_slice(b"CD001");
        fs::write(&iso, &bytes).unwrap();
        assert!(is_iso9660(&iso).unwrap());
        bytes[16 * 2048 + 1] = b'X';
        fs::write(&iso, &bytes).unwrap();
        assert!(!is_iso9660(&iso).unwrap());
        fs::write(&iso, b"short").unwrap();
        assert!(!is_iso9660(&iso).unwrap());
        assert!(is_iso9660(&dir.path().join("none")).is_err());
    }

    #[test]
    fn marker_status_reads_the_last_marker_line() {
        let console = "[  OK  ] Started x\nlocalhost login: PIG-FIRSTBOOT-COMPLETE status=failed\n\
                       PIG-FIRSTBOOT-COMPLETE status=ok\n";
        assert_eq!(marker_status(console).as_deref(), Some("ok"));
        assert_eq!(marker_status("PIG-FIRSTBOOT-COMPLETE\n"), None);
        assert_eq!(marker_status("nothing\n"), None);
    }
}
