//! The command line of pig-build: clap types only. Doc comments are the help.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Build pig's offline PostgreSQL package bundles, repositories and images.
#[derive(Debug, Parser)]
#[command(name = "pig-build", version, about, max_term_width = 80)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with package repositories.
    #[command(subcommand)]
    Repo(RepoCommand),
    /// Resolve a recipe's dependency closure and write its lock.
    ///
    /// Reads the upstream indexes (signatures checked against the recipe's
    /// keyrings, index hashes against Release), picks candidates as apt-get
    /// does, and writes `<recipe>.lock` beside the recipe (or `--lock`).
    Resolve(ResolveArgs),
    /// Build the offline bundle `pigsty-pkg-<version>.<os>.<arch>.tgz`.
    ///
    /// Resolves (or, with `--locked`, reads the lock), downloads every package
    /// into the shared cache with its sha256 checked, writes a signed flat
    /// repository under `pigsty/` with MANIFEST.json, SHA256SUMS and
    /// repo_complete, and packs it deterministically.
    Bundle(BundleArgs),
    /// Check a bundle: signatures, every hash, and that it is complete.
    Verify(VerifyArgs),
    /// Show what changed between two lock files.
    Diff(DiffArgs),
    /// Build a bootable node disk image from a bundle, or check one.
    ///
    /// `pig-build image --bundle B --out F` installs the bundle's `base`
    /// module and pig-install from the bundle alone (no network) into a
    /// GPT disk that boots under BIOS and UEFI: an ext4 root that grows to
    /// fill the disk on first boot, DHCP on every Ethernet interface, the
    /// bundle's repository under /www/pigsty, and pig-install's first-boot
    /// unit, which applies the seed. Needs no loop devices or mounts.
    /// `--kind iso` makes a hybrid ISO (BIOS and UEFI, CD and USB stick)
    /// booting the same system live (live-boot, from the bundle) with the
    /// repository on board and an empty 1 MiB seed area that `pig-build
    /// image customize` fills in place; `--kind pxe --root-url URL`
    /// makes a PXE set (kernel, initrd, filesystem.squashfs, boot.ipxe,
    /// pxelinux.cfg/default, and seed.cpio with the seed).
    /// The same bundle, seed, options and SOURCE_DATE_EPOCH (default: the
    /// bundle's own date) give a byte-identical image.
    ///
    /// `pig-build image check F` boots F (a disk, an ISO or a PXE set)
    /// under qemu and waits for the first-boot marker.
    Image(ImageArgs),
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ImageArgs {
    #[command(subcommand)]
    pub command: Option<ImageCommand>,

    #[command(flatten)]
    pub build: ImageBuildArgs,
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Boot an image under qemu and wait for the first-boot marker.
    ///
    /// Boots with TCG (no KVM needed), 1 GiB of memory (2 GiB for an ISO
    /// or a PXE set: a live system writes to RAM), a restricted user
    /// network (the guest gets 10.0.2.15 and reaches nothing else) and the
    /// image read-only or in snapshot mode, so the image is never changed
    /// and every check is a first boot. A PXE set is served by qemu's
    /// built-in TFTP server. Succeeds when pig-install prints
    /// `PIG-FIRSTBOOT-COMPLETE status=ok` on the serial console; fails on
    /// `status=failed` or `status=noseed`, on a timeout or if qemu stops.
    Check(ImageCheckArgs),
    /// Put a seed into a built ISO's seed area, without remastering it.
    ///
    /// Copies IN to OUT (IN may be OUT) with only the 1 MiB seed area
    /// /pig/seed.img rewritten: the magic PIGSEED1, the seed's length and
    /// sha256, the seed. The seed is checked as `image --seed` checks it
    /// (UTF-8 YAML with an `all:` inventory; pig-install validates it
    /// fully on the node before applying anything). A node booted from
    /// OUT finds it at /run/live/medium/pig/seed.img. The copy is made
    /// beside OUT and renamed into place: a failure leaves OUT as it was.
    Customize(ImageCustomizeArgs),
}

#[derive(Debug, Args)]
pub struct ImageBuildArgs {
    /// What to make: raw (a plain disk), qcow2 (for qemu and clouds), iso
    /// (a hybrid live ISO for BIOS and UEFI, CD or USB stick) or pxe (a
    /// directory with a kernel, initrds, the root squashfs, an iPXE script
    /// and a pxelinux config).
    #[arg(long, value_enum, default_value_t = ImageKindArg::Raw)]
    pub kind: ImageKindArg,

    /// The bundle (pigsty-pkg-….tgz) to build from, the only package
    /// source; it must hold a `base` module and pig-install.
    #[arg(long, value_name = "FILE", required = true)]
    pub bundle: Option<PathBuf>,

    /// Seed applied by pig-install on first boot. raw and qcow2 embed it
    /// as /etc/pigsty/seed.yml (mode 0600); iso writes it into the ISO's
    /// seed area (replace it later with `image customize`); pxe delivers
    /// it as the seed.cpio initrd (/run/pig/seed.yml on the node). Without
    /// it the node looks for a PIGSEED or CIDATA volume, then pig.seed= on
    /// the kernel command line.
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,

    /// Disk size (raw and qcow2): bytes, or with a K, M, G or T suffix
    /// (powers of 1024).
    #[arg(long, value_name = "SIZE", default_value = "4G", value_parser = crate::image::parse_size)]
    pub size: u64,

    /// Leave the bundle's repository out of /www/pigsty: a slim image
    /// whose node installs from another node's repository.
    #[arg(long)]
    pub without_repo: bool,

    /// For pxe, required: the URL nodes fetch the root file system from
    /// (live-boot's fetch=), i.e. where you serve the set's
    /// filesystem.squashfs, e.g. http://192.0.2.1/pxe/filesystem.squashfs
    /// or tftp://192.0.2.1/filesystem.squashfs.
    #[arg(long, value_name = "URL")]
    pub root_url: Option<String>,

    /// Where to write the image: a file, or for pxe a new (or empty)
    /// directory.
    #[arg(long, short, value_name = "PATH", required = true)]
    pub out: Option<PathBuf>,

    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImageKindArg {
    /// A raw disk image (sparse).
    Raw,
    /// qcow2, converted with qemu-img.
    Qcow2,
    /// A hybrid ISO booting a live system, with a seed area.
    Iso,
    /// A PXE boot set (a directory).
    Pxe,
}

#[derive(Debug, Args)]
pub struct ImageCustomizeArgs {
    /// The seed to put into the ISO.
    #[arg(long, value_name = "FILE")]
    pub seed: PathBuf,

    /// The ISO made by `pig-build image --kind iso`.
    #[arg(value_name = "IN")]
    pub input: PathBuf,

    /// The ISO to write (may be IN).
    #[arg(value_name = "OUT")]
    pub output: PathBuf,

    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ImageCheckArgs {
    /// The image: a raw or qcow2 disk, an ISO (told apart by content) or a
    /// PXE set's directory (booted from the network through qemu's TFTP
    /// server, with boot.ipxe as the DHCP boot file).
    pub image: PathBuf,

    /// Firmware to boot with: bios (SeaBIOS) or uefi (OVMF). An ISO boots
    /// as a CD under bios and as a USB stick under uefi.
    #[arg(long, value_enum, default_value_t = FirmwareArg::Bios)]
    pub firmware: FirmwareArg,

    /// Seconds to wait for the marker.
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    pub timeout: u64,

    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FirmwareArg {
    /// SeaBIOS, qemu's default BIOS.
    Bios,
    /// OVMF (UEFI, without Secure Boot).
    Uefi,
}

#[derive(Debug, Args)]
pub struct RecipeArgs {
    /// Recipe file, e.g. recipes/d12.yml.
    #[arg(long, value_name = "FILE")]
    pub recipe: PathBuf,

    /// Only these modules (and `ext:<category>` extension sets); default all.
    #[arg(long, value_name = "M,…", value_delimiter = ',')]
    pub modules: Vec<String>,

    /// Upstream base URL for `${mirror.NAME}` (repeatable); overrides
    /// PIG_MIRROR_<NAME> and the host's apt sources.
    #[arg(long = "mirror", value_name = "NAME=URL")]
    pub mirrors: Vec<String>,

    /// Install Recommends too, as apt-get does by default on Debian.
    #[arg(long)]
    pub with_recommends: bool,

    /// Packages the upstreams do not have (third-party repositories that
    /// cannot be reached) are reported, not fatal.
    #[arg(long)]
    pub allow_missing: bool,

    /// Download cache (content-addressed, shared by all recipes)
    /// [default: $PIG_CACHE, else ~/.cache/pig].
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    #[command(flatten)]
    pub recipe: RecipeArgs,

    /// Where to write the lock [default: the recipe path with `.lock`].
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,

    /// Print the chain of dependencies that pulled PKG in, and exit.
    #[arg(long, value_name = "PKG")]
    pub why: Option<String>,

    /// Print the closure as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BundleArgs {
    #[command(flatten)]
    pub recipe: RecipeArgs,

    /// Fetch exactly what the lock says instead of resolving again.
    #[arg(long)]
    pub locked: bool,

    /// Lock file [default: the recipe path with `.lock`].
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,

    /// Output directory for the tarball (and a generated key).
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,

    /// Armored OpenPGP secret key to sign the bundle's repository with;
    /// generated (with its public half beside it) if the file is missing
    /// [default: OUT/pigsty-repo-key.asc].
    #[arg(long, value_name = "FILE")]
    pub sign_key: Option<PathBuf>,

    /// The pig-install binary to package into the bundle as a .deb or
    /// .rpm [default: beside pig-build].
    #[arg(long, value_name = "FILE")]
    pub pig_install: Option<PathBuf>,

    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The bundle tarball.
    pub bundle: PathBuf,

    /// Public key the repository must be signed with [default: the key
    /// inside the bundle, checked against MANIFEST.json].
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// Skip the install test (signatures and hashes only).
    #[arg(long)]
    pub no_install: bool,

    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older lock.
    pub old: PathBuf,
    /// The newer lock.
    pub new: PathBuf,

    /// Print the difference as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum RepoCommand {
    /// Index a directory of .deb and/or .rpm files as a repository.
    ///
    /// Writes a flat APT repository (Packages, Packages.gz, Release, and
    /// InRelease + Release.gpg when signed) for the .deb files and a
    /// repodata/ directory for the .rpm files, like dpkg-scanpackages,
    /// apt-ftparchive and createrepo_c together. Unchanged packages reuse
    /// the results of the previous run.
    Index(RepoIndexArgs),
}

#[derive(Debug, Args)]
pub struct RepoIndexArgs {
    /// Directory holding the packages (searched recursively).
    pub dir: PathBuf,

    /// Armored OpenPGP secret key to sign Release and repomd.xml with.
    #[arg(long, value_name = "FILE")]
    pub sign_key: Option<PathBuf>,

    /// Print a JSON summary on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}
