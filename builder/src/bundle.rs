//! `pig-build bundle`: from a recipe (or its lock) to the signed offline
//! bundle `pigsty-pkg-<version>.<os>.<arch>.tgz`.
//!
//! Steps: resolve (or read the lock), fetch every package into the shared
//! cache with its sha256 checked, link them into a staging tree, index and
//! sign it as a flat repository, write `MANIFEST.json`, `SHA256SUMS` and
//! `repo_complete` (last), then pack the tree deterministically. A `deb`
//! recipe makes a flat APT repository (`Packages`, `InRelease`), an `rpm`
//! recipe a dnf one (`repodata/`, `repomd.xml.asc`); the rest is shared. The
//! staging tree lives beside the output and the tarball is renamed into
//! place only when complete, so an interrupted build leaves no bundle.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::bundle_layout::{
    BundleKind, MANIFEST, MANIFEST_FORMAT, Manifest, ManifestPackage, PUBLIC_KEY, REPO_COMPLETE,
    TOP_DIR, bundle_file_name, sha256_file, write_sha256sums,
};
use crate::closure::RecipeContext;
use crate::cmdline::BundleArgs;
use crate::fetch::FetchItem;
use crate::lock::Lock;
use crate::pack::pack_dir;
use crate::repo_index::{IndexOptions, index_dir, load_or_generate_key, source_date_epoch};
use crate::self_package;

/// What a bundle build did.
#[derive(Debug, Serialize)]
pub struct BundleSummary {
    pub bundle: PathBuf,
    pub lock: PathBuf,
    pub packages: usize,
    pub package_bytes: u64,
    pub bundle_bytes: u64,
    pub downloaded_bytes: u64,
    pub from_cache: u64,
    pub missing: Vec<String>,
    pub key_fingerprint: String,
    pub public_key: PathBuf,
    pub seconds: f64,
}

pub fn run(args: &BundleArgs) -> Result<()> {
    let summary = build_bundle(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{}: {} packages ({:.1} MiB, {:.1} MiB downloaded, {} from cache), {:.1} MiB, \
             signed by {} in {:.1} s",
            summary.bundle.display(),
            summary.packages,
            summary.package_bytes as f64 / 1048576.0,
            summary.downloaded_bytes as f64 / 1048576.0,
            summary.from_cache,
            summary.bundle_bytes as f64 / 1048576.0,
            summary.key_fingerprint,
            summary.seconds
        );
        if !summary.missing.is_empty() {
            println!(
                "missing (not in the bundle): {}",
                summary.missing.join(", ")
            );
        }
        println!("public key: {}", summary.public_key.display());
    }
    Ok(())
}

/// Build the bundle `args` describe.
pub fn build_bundle(args: &BundleArgs) -> Result<BundleSummary> {
    let started = Instant::now();
    let date = source_date_epoch()?;
    let ctx = RecipeContext::open(&args.recipe)?;
    let recipe = &ctx.recipe;
    let kind = BundleKind::of(recipe.kind);
    let lock_path = args.lock.clone().unwrap_or_else(|| ctx.default_lock_path());

    // The lock pins the files; the modules and missing lists come from the
    // recipe (a --locked build reads the same recipe the lock came from).
    let (lock, mut modules, missing) = if args.locked {
        let lock = Lock::load(&lock_path)?;
        if lock.os != recipe.os || lock.arch != recipe.arch {
            bail!(
                "{} is for {}/{}, but {} is for {}/{}",
                lock_path.display(),
                lock.os,
                lock.arch,
                ctx.recipe_path.display(),
                recipe.os,
                recipe.arch
            );
        }
        let modules = lock.modules.clone();
        let missing = lock.missing.clone();
        if !missing.is_empty() && !args.recipe.allow_missing {
            bail!(
                "{} was resolved without {} package(s) the recipe wants: {} (use --allow-missing)",
                lock_path.display(),
                missing.len(),
                missing.join(", ")
            );
        }
        (lock, modules, missing)
    } else {
        let r = ctx.resolve(&args.recipe)?;
        r.lock.save(&lock_path)?;
        let (modules, missing) = (r.lock.modules.clone(), r.lock.missing.clone());
        (r.lock, modules, missing)
    };

    // Where each origin's files come from.
    let mut base_urls = BTreeMap::new();
    for origin in lock.packages.iter().map(|p| p.origin.as_str()) {
        if base_urls.contains_key(origin) {
            continue;
        }
        let up = recipe.upstream(origin).with_context(|| {
            format!(
                "{}: origin {origin} is not an upstream of {}",
                lock_path.display(),
                ctx.recipe_path.display()
            )
        })?;
        let base = ctx.mirrors.expand(up.url_template())?;
        base_urls.insert(origin.to_string(), base.trim_end_matches('/').to_string());
    }
    let mut items = Vec::with_capacity(lock.packages.len());
    let mut names = BTreeSet::new();
    for p in &lock.packages {
        let file_name = flat_name(&p.filename)?;
        if !names.insert(file_name.to_string()) {
            bail!("two locked packages share the file name {file_name}");
        }
        items.push(FetchItem {
            url: format!("{}/{}", base_urls[&p.origin], p.filename),
            name: file_name.to_string(),
            size: Some(p.size),
            sha256: Some(p.sha256.clone()),
        });
    }
    let fetched = ctx.runtime.block_on(ctx.fetcher.fetch_all(items))?;
    let fetch_summary = ctx.fetcher.summary();

    fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let key_path = args
        .sign_key
        .clone()
        .unwrap_or_else(|| args.out.join("pigsty-repo-key.asc"));
    let (key, _) = load_or_generate_key(&key_path, date)?;
    let public_key = crate::repo_index::public_key_path(&key_path);
    if !public_key.exists() {
        pig_repo::atomic::write_file(&public_key, key.public_armored().as_bytes())?;
    }

    let bundle_name = bundle_file_name(&recipe.version, &recipe.os, &recipe.arch);
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{bundle_name}."))
        .tempdir_in(&args.out)
        .with_context(|| format!("creating a staging directory in {}", args.out.display()))?;
    let repo = staging.path().join(TOP_DIR);
    fs::create_dir(&repo).with_context(|| format!("creating {}", repo.display()))?;
    for f in &fetched {
        ctx.fetcher.cache().link_into(
            f.item.sha256.as_deref().unwrap_or_default(),
            &repo.join(&f.item.name),
        )?;
    }
    let pig_binary = match &args.pig_install {
        Some(path) => path.clone(),
        None => self_package::default_binary()?,
    };
    let own = self_package::package_installer(
        &pig_binary,
        recipe.kind,
        &recipe.arch,
        &repo,
        date.max(0) as u64,
    )?;
    let (own_size, own_sha256) =
        sha256_file(&repo.join(&own)).with_context(|| format!("hashing {own}"))?;
    modules.insert("pig".to_string(), vec![self_package::PACKAGE.to_string()]);
    index_dir(
        &repo,
        IndexOptions {
            key: Some(key.clone()),
            date,
        },
    )?;
    // The index cache is a build-time aid, not part of the bundle.
    fs::remove_file(repo.join(".pig-index.json")).ok();
    pig_repo::atomic::write_file(&repo.join(PUBLIC_KEY), key.public_armored().as_bytes())?;
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        name: bundle_name.trim_end_matches(".tgz").to_string(),
        version: recipe.version.clone(),
        os: recipe.os.clone(),
        arch: recipe.arch.clone(),
        kind,
        source_date_epoch: date,
        key_fingerprint: key.fingerprint(),
        public_key: PUBLIC_KEY.to_string(),
        modules,
        packages: lock
            .packages
            .iter()
            .map(|p| {
                Ok(ManifestPackage {
                    name: p.name.clone(),
                    version: p.version.clone(),
                    arch: p.arch.clone(),
                    filename: flat_name(&p.filename)?.to_string(),
                    size: p.size,
                    sha256: p.sha256.clone(),
                })
            })
            .chain(std::iter::once(Ok(ManifestPackage {
                name: self_package::PACKAGE.to_string(),
                version: format!("{}-1", env!("CARGO_PKG_VERSION")),
                arch: own_package_arch(kind, &recipe.arch).to_string(),
                filename: own.clone(),
                size: own_size,
                sha256: own_sha256,
            })))
            .collect::<Result<_>>()?,
        missing: missing.clone(),
        pig_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    manifest.save(&repo.join(MANIFEST))?;
    write_sha256sums(&repo)?;
    pig_repo::atomic::write_file(&repo.join(REPO_COMPLETE), b"")?;

    let out = args.out.join(&bundle_name);
    let packed = pack_dir(&repo, TOP_DIR, &out, date.max(0) as u64)?;
    Ok(BundleSummary {
        bundle: out,
        lock: lock_path,
        packages: lock.packages.len() + 1,
        package_bytes: lock.packages.iter().map(|p| p.size).sum(),
        bundle_bytes: packed.bytes_out,
        downloaded_bytes: fetch_summary.bytes_downloaded,
        from_cache: fetch_summary.from_cache,
        missing,
        key_fingerprint: key.fingerprint(),
        public_key,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The architecture `pig-install`'s own package carries: Debian's name
/// (`amd64`) in a .deb, the recipe's (`x86_64`) in an .rpm, as
/// `self_package` writes them.
fn own_package_arch(kind: BundleKind, arch: &str) -> &str {
    match kind {
        BundleKind::Deb => crate::upstream::deb_arch(arch),
        BundleKind::Rpm => arch,
    }
}

/// The flat file name of a pool path (`pool/main/p/pkg/pkg_1_all.deb`).
fn flat_name(filename: &str) -> Result<&str> {
    match filename.rsplit('/').next() {
        Some(name) if !name.is_empty() && name != ".." && name != "." => Ok(name),
        _ => bail!("locked filename {filename:?} has no file name"),
    }
}
