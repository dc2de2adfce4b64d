//! From a recipe to a lock: load the upstream indexes, resolve every
//! module's closure as apt-get would, and pin the union.
//!
//! Debian and RPM upstreams load into the same resolver; the walk is
//! apt-get's for both (see `pig_repo::resolve::rpm` for how RPM
//! dependencies map onto it).
//!
//! Each module is resolved on its own (on Debian with the essential set a
//! minbase root needs): apt on a node installs one module at a time, and a module
//! alone may choose a different alternative than all modules together, so
//! the bundle must hold the union of the per-module closures.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use pig_repo::resolve::{Closure, ResolveOptions, Universe, resolve};
use serde::Serialize;

use crate::cache::Cache;
use crate::cmdline::{RecipeArgs, ResolveArgs};
use crate::fetch::{FetchOptions, Fetcher};
use crate::lock::{Lock, LockedPackage};
use crate::mirror::Mirrors;
use crate::recipe::{PackageKind, Recipe};
use crate::upstream::{Unreachable, deb_arch, load_deb_upstreams, load_rpm_upstreams};

/// The module that holds what mmdebstrap's minbase variant installs:
/// `Essential: yes`, `Priority: required`, and apt.
pub const ESSENTIAL_MODULE: &str = "essential";

/// A recipe with everything needed to reach its upstreams.
pub struct RecipeContext {
    pub recipe: Recipe,
    pub recipe_path: PathBuf,
    pub mirrors: Mirrors,
    pub fetcher: Fetcher,
    /// Runs the fetches; the commands themselves are synchronous.
    pub runtime: tokio::runtime::Runtime,
}

impl RecipeContext {
    /// Load the recipe, find the mirrors (flags, then `PIG_MIRROR_*`, then
    /// the host's apt sources) and open the download cache.
    pub fn open(args: &RecipeArgs) -> Result<RecipeContext> {
        let recipe = Recipe::load(&args.recipe)?;
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        let mirrors = Mirrors::discover(&args.mirrors, env, Path::new("/"))?;
        let cache_dir = match &args.cache {
            Some(dir) => dir.clone(),
            None => Cache::default_dir()?,
        };
        let cache = Cache::open(&cache_dir)?;
        let fetcher = Fetcher::new(cache, FetchOptions::default())?;
        let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
        Ok(RecipeContext {
            recipe,
            recipe_path: args.recipe.clone(),
            mirrors,
            fetcher,
            runtime,
        })
    }

    /// Resolve the modules `args` select, as `resolve` and `bundle` do.
    pub fn resolve(&self, args: &RecipeArgs) -> Result<Resolved> {
        self.runtime.block_on(resolve_recipe(
            self,
            &args.modules,
            args.with_recommends,
            args.allow_missing,
        ))
    }

    pub fn recipe_dir(&self) -> &Path {
        self.recipe_path.parent().unwrap_or(Path::new("."))
    }

    /// `recipes/d12.yml` → `recipes/d12.lock`.
    pub fn default_lock_path(&self) -> PathBuf {
        self.recipe_path.with_extension("lock")
    }
}

/// A package the recipe wants that no reachable upstream has.
#[derive(Debug, Clone, Serialize)]
pub struct Missing {
    pub name: String,
    pub module: String,
}

/// The result of resolving a recipe.
pub struct Resolved {
    pub lock: Lock,
    /// Module → its closure.
    pub closures: BTreeMap<String, Closure>,
    pub missing: Vec<Missing>,
    pub unreachable: Vec<Unreachable>,
    /// Upstream name → base URL, for fetching the lock's files.
    pub base_urls: BTreeMap<String, String>,
    pub universe_size: usize,
}

impl Resolved {
    /// The chain that pulled `name` in, from the first module that has it.
    pub fn why(&self, name: &str) -> Option<(String, Vec<String>)> {
        self.closures
            .iter()
            .find_map(|(module, c)| Some((module.clone(), c.why(name)?)))
    }
}

/// Resolve `selectors` of the recipe (all modules when empty).
pub async fn resolve_recipe(
    ctx: &RecipeContext,
    selectors: &[String],
    with_recommends: bool,
    allow_missing: bool,
) -> Result<Resolved> {
    let recipe = &ctx.recipe;
    let Loaded {
        universe,
        essential,
        base_urls,
        unreachable,
    } = match recipe.kind {
        PackageKind::Deb => load_deb(ctx).await?,
        PackageKind::Rpm => load_rpm(ctx).await?,
    };

    let mut modules: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut missing = Vec::new();
    for wanted in recipe.packages(selectors)? {
        let known = !universe.versions_of(&wanted.name).is_empty()
            || universe.providers_of(&wanted.name).next().is_some();
        if known {
            modules.entry(wanted.module).or_default().push(wanted.name);
        } else {
            missing.push(Missing {
                name: wanted.name,
                module: wanted.module,
            });
        }
    }
    if !missing.is_empty() && !allow_missing {
        let list: Vec<String> = missing
            .iter()
            .map(|m| format!("{} (module {})", m.name, m.module))
            .collect();
        let why: Vec<String> = unreachable
            .iter()
            .map(|u| format!("upstream {} unreachable: {}", u.upstream, u.reason))
            .collect();
        bail!(
            "{} package(s) not found in any reachable upstream: {}{}\n\
             (use --allow-missing to build without them)",
            missing.len(),
            list.join(", "),
            if why.is_empty() {
                String::new()
            } else {
                format!("\n{}", why.join("\n"))
            }
        );
    }
    if let Some(essential) = essential {
        modules.insert(ESSENTIAL_MODULE.to_string(), essential);
    }

    let opts = ResolveOptions { with_recommends };
    let mut closures = BTreeMap::new();
    let mut by_file: BTreeMap<String, LockedPackage> = BTreeMap::new();
    for (module, names) in &modules {
        let mut wanted = names.clone();
        if module != ESSENTIAL_MODULE
            && let Some(essential) = modules.get(ESSENTIAL_MODULE)
        {
            wanted.extend(essential.iter().cloned());
        }
        let closure =
            resolve(&universe, &wanted, &opts).with_context(|| format!("module {module}"))?;
        for s in &closure.packages {
            let p = universe.package(s.id);
            by_file
                .entry(p.filename.clone())
                .or_insert_with(|| LockedPackage {
                    name: p.name.clone(),
                    version: p.version.clone(),
                    arch: p.arch.clone(),
                    filename: p.filename.clone(),
                    size: p.size,
                    sha256: p.sha256.clone(),
                    origin: s.repo.clone(),
                    modules: Vec::new(),
                })
                .modules
                .push(module.clone());
        }
        closures.insert(module.clone(), closure);
    }
    let mut lock = Lock::new(&recipe.os, &recipe.arch, by_file.into_values().collect());
    lock.modules = modules;
    lock.missing = missing.iter().map(|m| m.name.clone()).collect();
    lock.sort();
    Ok(Resolved {
        lock,
        closures,
        missing,
        unreachable,
        base_urls,
        universe_size: universe.len(),
    })
}

/// A recipe's upstreams in one universe.
struct Loaded {
    universe: Universe,
    /// The names of the essential module (Debian only: an RPM root has no
    /// Essential set, dnf installs only what is asked and required).
    essential: Option<Vec<String>>,
    base_urls: BTreeMap<String, String>,
    unreachable: Vec<Unreachable>,
}

async fn load_deb(ctx: &RecipeContext) -> Result<Loaded> {
    let recipe = &ctx.recipe;
    let (indexes, unreachable) =
        load_deb_upstreams(recipe, ctx.recipe_dir(), &ctx.mirrors, &ctx.fetcher).await?;
    let mut universe = Universe::new(deb_arch(&recipe.arch));
    let mut essential = BTreeSet::from(["apt".to_string()]);
    let mut base_urls = BTreeMap::new();
    for index in &indexes {
        let repo = universe.add_repo(&index.name, index.priority);
        base_urls.insert(index.name.clone(), index.base_url.clone());
        for (stanza, input) in &index.stanzas {
            universe.add_deb(repo, stanza, input)?;
            if (stanza.get("Essential") == Some("yes")
                || stanza.get("Priority") == Some("required"))
                && let Some(name) = stanza.get("Package")
            {
                essential.insert(name.to_string());
            }
        }
    }
    Ok(Loaded {
        universe,
        essential: Some(essential.into_iter().collect()),
        base_urls,
        unreachable,
    })
}

/// The recipe's `priority` (higher preferred, as for APT) goes to the
/// universe unchanged; dnf's own `priority=` runs the other way, and the
/// repo files pig writes for nodes do not carry one.
async fn load_rpm(ctx: &RecipeContext) -> Result<Loaded> {
    let recipe = &ctx.recipe;
    let (indexes, unreachable) =
        load_rpm_upstreams(recipe, ctx.recipe_dir(), &ctx.mirrors, &ctx.fetcher).await?;
    let mut universe = Universe::new_rpm(&recipe.arch);
    let mut base_urls = BTreeMap::new();
    for index in &indexes {
        let repo = universe.add_repo(&index.name, index.priority);
        base_urls.insert(index.name.clone(), index.base_url.clone());
        for package in &index.packages {
            universe.add_rpm(repo, package)?;
        }
    }
    Ok(Loaded {
        universe,
        essential: None,
        base_urls,
        unreachable,
    })
}

/// `pig-build resolve`.
pub fn run(args: &ResolveArgs) -> Result<()> {
    let ctx = RecipeContext::open(&args.recipe)?;
    let r = ctx.resolve(&args.recipe)?;
    if let Some(name) = &args.why {
        match r.why(name) {
            Some((module, chain)) => {
                println!("{name} is in module {module} because:");
                for step in chain {
                    println!("  {step}");
                }
                return Ok(());
            }
            None => bail!("{name} is not in the closure of the selected modules"),
        }
    }
    let lock_path = args.lock.clone().unwrap_or_else(|| ctx.default_lock_path());
    r.lock.save(&lock_path)?;
    let bytes: u64 = r.lock.packages.iter().map(|p| p.size).sum();
    if args.json {
        #[derive(Serialize)]
        struct Report<'a> {
            lock: &'a Path,
            packages: &'a [LockedPackage],
            bytes: u64,
            modules: BTreeMap<&'a str, usize>,
            missing: &'a [Missing],
            unreachable: &'a [Unreachable],
        }
        let report = Report {
            lock: &lock_path,
            packages: &r.lock.packages,
            bytes,
            modules: r
                .closures
                .iter()
                .map(|(m, c)| (m.as_str(), c.packages.len()))
                .collect(),
            missing: &r.missing,
            unreachable: &r.unreachable,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for (module, c) in &r.closures {
            println!("{module:>12}: {} packages", c.packages.len());
        }
        for m in &r.missing {
            println!("     missing: {} (module {})", m.name, m.module);
        }
        for u in &r.unreachable {
            println!(" unreachable: {}: {}", u.upstream, u.reason);
        }
        println!(
            "{} packages, {:.1} MiB, from {} known; lock written to {}",
            r.lock.packages.len(),
            bytes as f64 / 1048576.0,
            r.universe_size,
            lock_path.display()
        );
    }
    Ok(())
}
