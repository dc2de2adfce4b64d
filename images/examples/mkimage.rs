//! Drive pig-images by hand:
//!
//! ```text
//! mkimage rootfs OUT_DIR [PACKAGE…]          rootfs tarball from the host's apt sources
//! mkimage raw ROOTFS.tar OUT.raw SIZE_MIB SEED   disk with the test first-boot marker unit
//! mkimage qcow2 IN.raw OUT.qcow2
//! mkimage check IMAGE bios|uefi [TIMEOUT_S]
//! ```
//! `SOURCE_DATE_EPOCH` sets every time stamp (default 0).

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use pig_images::boot::{FIRSTBOOT_MARKER, marker_embeds};
use pig_images::{DiskSpec, Firmware, RootfsSource};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mkimage: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let arg = |i: usize| -> Result<&str, String> {
        args.get(i)
            .map(String::as_str)
            .ok_or_else(|| format!("missing argument {i}; see the source for usage"))
    };
    match arg(0)? {
        "rootfs" => {
            let source = RootfsSource::from_host_apt()?;
            let epoch = pig_images::rootfs::source_date_epoch();
            let packages = &args[2.min(args.len())..];
            let r = pig_images::build_rootfs(&source, packages, epoch, Path::new(arg(1)?))?;
            println!(
                "{} ({:.1} s, cached: {})",
                r.tar.display(),
                r.seconds,
                r.cached
            );
        }
        "raw" => {
            let epoch = pig_images::rootfs::source_date_epoch().unwrap_or(0);
            let mut spec = DiskSpec::new(arg(3)?.parse::<u64>()? << 20, arg(4)?, epoch);
            spec.embeds = marker_embeds(FIRSTBOOT_MARKER);
            let r = pig_images::build_raw(Path::new(arg(1)?), &spec, Path::new(arg(2)?))?;
            println!("{r:#?}");
        }
        "qcow2" => pig_images::to_qcow2(Path::new(arg(1)?), Path::new(arg(2)?))?,
        "check" => {
            let firmware = match arg(2)? {
                "bios" => Firmware::Bios,
                "uefi" => Firmware::Uefi,
                other => return Err(format!("unknown firmware {other}").into()),
            };
            let timeout =
                Duration::from_secs(args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(300));
            let r =
                pig_images::boot_check(Path::new(arg(1)?), firmware, FIRSTBOOT_MARKER, timeout)?;
            println!("{}\nbooted to the marker in {:.1} s", r.log_tail, r.seconds);
        }
        other => return Err(format!("unknown command {other}").into()),
    }
    Ok(())
}
