//! Upstream repository metadata: fetch each APT upstream's `InRelease`,
//! verify it against the recipe's keyring, then fetch the `Packages` indexes
//! it lists with their sha256 checked against it. For an RPM upstream the
//! same with `repodata/repomd.xml` (and its detached `repomd.xml.asc`) and
//! the `primary` document it lists.
//!
//! Index files go through the content-addressed cache like packages do, so
//! an unchanged upstream costs one `InRelease` download.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use pig_repo::compress::Compression;
use pig_repo::deb::control::{Paragraph, Paragraphs};
use pig_repo::deb::release::{HashKind, Release};
use pig_repo::rpm::repodata::{RepoPackage, RepodataReader};
use pig_repo::signing::Keyring;

use crate::fetch::{FetchItem, Fetcher};
use crate::mirror::Mirrors;
use crate::recipe::{Recipe, Upstream};

/// The `Packages` stanzas of one upstream.
pub struct UpstreamIndex {
    pub name: String,
    pub priority: i32,
    /// Base URL with `${mirror.…}` expanded; package `Filename`s are relative to it.
    pub base_url: String,
    /// (stanza, where it came from) pairs.
    pub stanzas: Vec<(Paragraph, String)>,
}

/// A third-party upstream that could not be used, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Unreachable {
    pub upstream: String,
    pub reason: String,
}

/// Debian's architecture name for a recipe's `arch`.
pub fn deb_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// Load every APT upstream of `recipe`. A third-party upstream that has no
/// mirror, no keyring or no answer is reported in the second list; any
/// other failure is an error.
pub async fn load_deb_upstreams(
    recipe: &Recipe,
    recipe_dir: &Path,
    mirrors: &Mirrors,
    fetcher: &Fetcher,
) -> Result<(Vec<UpstreamIndex>, Vec<Unreachable>)> {
    load_each(recipe, |up| {
        load_one(recipe, recipe_dir, up, mirrors, fetcher)
    })
    .await
}

/// Load each upstream with `load`. A third-party upstream that fails is
/// listed as unreachable; any other failure is an error naming it.
async fn load_each<'a, T, F, Fut>(recipe: &'a Recipe, load: F) -> Result<(Vec<T>, Vec<Unreachable>)>
where
    F: Fn(&'a Upstream) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut loaded = Vec::new();
    let mut unreachable = Vec::new();
    for up in &recipe.upstream {
        match load(up).await {
            Ok(index) => loaded.push(index),
            Err(e) if up.third_party => unreachable.push(Unreachable {
                upstream: up.name.clone(),
                reason: format!("{e:#}"),
            }),
            Err(e) => return Err(e.context(format!("upstream {}", up.name))),
        }
    }
    Ok((loaded, unreachable))
}

async fn load_one(
    recipe: &Recipe,
    recipe_dir: &Path,
    up: &Upstream,
    mirrors: &Mirrors,
    fetcher: &Fetcher,
) -> Result<UpstreamIndex> {
    let base_url = mirrors.expand(up.url_template())?;
    let keyring_path = recipe.keyring_path(up, recipe_dir);
    let keyring = Keyring::load(&keyring_path)
        .with_context(|| format!("keyring {}", keyring_path.display()))?;
    let arch = deb_arch(&recipe.arch);
    let mut stanzas = Vec::new();
    for suite in &up.suites {
        let url = format!("{base_url}/dists/{suite}/InRelease");
        let signed = fetcher.fetch_bytes(&url).await?;
        let signed = String::from_utf8(signed).with_context(|| format!("{url}: not UTF-8"))?;
        let body = keyring.verify_clearsigned(&signed, &url)?;
        let release = Release::parse(&body, &url)?;
        for component in &up.components {
            let (path, item) = pick_index(&release, &base_url, suite, component, arch)
                .with_context(|| format!("{url}: no Packages index for {component}/{arch}"))?;
            let fetched = fetcher.fetch_all(vec![item]).await?;
            let file = &fetched[0].path;
            let text = read_index(file, &path)
                .with_context(|| format!("{base_url}/dists/{suite}/{path}"))?;
            let input = format!("{}:{suite}/{path}", up.name);
            for stanza in Paragraphs::new(&text, &input) {
                stanzas.push((stanza?, input.clone()));
            }
        }
    }
    Ok(UpstreamIndex {
        name: up.name.clone(),
        priority: up.priority,
        base_url,
        stanzas,
    })
}

/// The best-compressed `Packages` index `Release` lists for a component,
/// as a fetch item carrying its size and sha256.
fn pick_index(
    release: &Release,
    base_url: &str,
    suite: &str,
    component: &str,
    arch: &str,
) -> Option<(String, FetchItem)> {
    ["xz", "gz", ""].iter().find_map(|ext| {
        let mut path = format!("{component}/binary-{arch}/Packages");
        if !ext.is_empty() {
            path = format!("{path}.{ext}");
        }
        let file = release.files.iter().find(|f| f.path == path)?;
        let sha256 = file
            .hashes
            .iter()
            .find(|(kind, _)| *kind == HashKind::Sha256)?
            .1
            .clone();
        let item = FetchItem {
            url: format!("{base_url}/dists/{suite}/{path}"),
            name: format!("{suite}/{path}"),
            size: Some(file.size),
            sha256: Some(sha256),
        };
        Some((path, item))
    })
}

fn read_index(file: &Path, name: &str) -> Result<String> {
    let raw = std::fs::File::open(file).with_context(|| file.display().to_string())?;
    let mut text = String::new();
    Compression::from_path(name)
        .reader(raw)?
        .read_to_string(&mut text)?;
    if text.is_empty() {
        bail!("empty index");
    }
    Ok(text)
}

/// The `primary.xml` packages of one RPM upstream.
pub struct RpmUpstreamIndex {
    pub name: String,
    pub priority: i32,
    /// Base URL with `${mirror.…}` expanded; package `location href`s are
    /// relative to it.
    pub base_url: String,
    /// Whether `repomd.xml` carried a signature that verified; when not,
    /// only the packages' own signatures vouch for them.
    pub metadata_signed: bool,
    pub packages: Vec<RepoPackage>,
}

/// Load every RPM upstream of `recipe`, with the same rules for third-party
/// upstreams as [`load_deb_upstreams`].
///
/// The keyring must exist, as for APT. `repomd.xml.asc`, when the upstream
/// publishes one, must verify against it or the upstream is refused. Many
/// EL repositories (EPEL, and distributions that sign only packages) publish
/// none: their metadata is then accepted with a warning, and the packages'
/// own signatures are what vouch for them.
pub async fn load_rpm_upstreams(
    recipe: &Recipe,
    recipe_dir: &Path,
    mirrors: &Mirrors,
    fetcher: &Fetcher,
) -> Result<(Vec<RpmUpstreamIndex>, Vec<Unreachable>)> {
    load_each(recipe, |up| {
        load_one_rpm(recipe, recipe_dir, up, mirrors, fetcher)
    })
    .await
}

async fn load_one_rpm(
    recipe: &Recipe,
    recipe_dir: &Path,
    up: &Upstream,
    mirrors: &Mirrors,
    fetcher: &Fetcher,
) -> Result<RpmUpstreamIndex> {
    let base_url = mirrors.expand(up.url_template())?;
    let base_url = base_url.trim_end_matches('/').to_string();
    let keyring_path = recipe.keyring_path(up, recipe_dir);
    let keyring = Keyring::load(&keyring_path)
        .with_context(|| format!("keyring {}", keyring_path.display()))?;
    let url = format!("{base_url}/repodata/repomd.xml");
    let repomd = fetcher.fetch_bytes(&url).await?;
    let metadata_signed = match fetcher.fetch_bytes(&format!("{url}.asc")).await {
        Ok(signature) => {
            keyring
                .verify_detached(&repomd, &signature, &url)
                .with_context(|| {
                    format!(
                        "{url}: signature does not verify against {}",
                        keyring_path.display()
                    )
                })?;
            true
        }
        Err(e) if e.is_not_found() => {
            eprintln!(
                "warning: upstream {}: {url} is not signed; only package signatures ({}) vouch for it",
                up.name,
                keyring_path.display()
            );
            false
        }
        Err(e) => return Err(e.into()),
    };

    // RepodataReader reads a repository directory: lay the verified
    // repomd.xml and the primary document it lists out in a scratch one.
    let scratch = tempfile::tempdir().context("making a scratch directory")?;
    let repodata = scratch.path().join("repodata");
    std::fs::create_dir_all(&repodata).with_context(|| repodata.display().to_string())?;
    std::fs::write(repodata.join("repomd.xml"), &repomd)
        .with_context(|| repodata.display().to_string())?;
    let reader = RepodataReader::open(scratch.path()).with_context(|| url.clone())?;
    let primary = reader
        .repomd()
        .record("primary")
        .with_context(|| format!("{url}: no primary data listed"))?;
    let href = Path::new(&primary.location_href);
    if !href
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)))
    {
        bail!(
            "{url}: primary location {:?} leaves the repository",
            primary.location_href
        );
    }
    if primary.checksum_type != "sha256" {
        bail!(
            "{url}: primary is listed with a {} checksum; only sha256 is supported",
            primary.checksum_type
        );
    }
    let item = FetchItem {
        url: format!("{base_url}/{}", primary.location_href),
        name: format!("{}:{}", up.name, primary.location_href),
        size: Some(primary.size),
        sha256: Some(primary.checksum.clone()),
    };
    fetcher.fetch_all(vec![item]).await?;
    fetcher.cache().link_into(
        &primary.checksum,
        &scratch.path().join(&primary.location_href),
    )?;
    let input = format!("{}:{}", up.name, primary.location_href);
    let packages = reader
        .packages()
        .and_then(|iter| iter.collect::<pig_repo::Result<Vec<_>>>())
        .with_context(|| input.clone())?;
    if packages.is_empty() {
        bail!("{input}: no packages");
    }
    Ok(RpmUpstreamIndex {
        name: up.name.clone(),
        priority: up.priority,
        base_url,
        metadata_signed,
        packages,
    })
}
