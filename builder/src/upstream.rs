//! Upstream repository metadata: fetch each APT upstream's `InRelease`,
//! verify it against the recipe's keyring, then fetch the `Packages` indexes
//! it lists with their sha256 checked against it.
//!
//! Index files go through the content-addressed cache like packages do, so
//! an unchanged upstream costs one `InRelease` download.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};
use pig_repo::compress::Compression;
use pig_repo::deb::control::{Paragraph, Paragraphs};
use pig_repo::deb::release::{HashKind, Release};
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
    let mut loaded = Vec::new();
    let mut unreachable = Vec::new();
    for up in &recipe.upstream {
        match load_one(recipe, recipe_dir, up, mirrors, fetcher).await {
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
