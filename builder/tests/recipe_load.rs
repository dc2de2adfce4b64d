//! The recipes in `recipes/` load, name real packages and report mistakes
//! with a file, line and YAML path.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use pig_build::recipe::Recipe;

fn recipes_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../recipes")
}

fn recipe_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(recipes_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    files
}

/// Modules served only by third-party upstreams, absent from Debian.
const THIRD_PARTY_MODULES: &[&str] = &["grafana", "minio"];

/// Output lines of `apt-cache pkgnames [prefix]`, or why it cannot run.
fn apt_pkgnames(prefix: &str) -> Result<BTreeSet<String>, String> {
    let out = Command::new("apt-cache")
        .args(["pkgnames", prefix])
        .output()
        .map_err(|e| format!("apt-cache: {e}"))?;
    let names: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    if !out.status.success() || names.is_empty() {
        return Err("apt lists are missing (run apt-get update)".to_string());
    }
    Ok(names)
}

#[test]
fn every_recipe_loads_with_resolvable_keyrings() {
    let files = recipe_files();
    let names: Vec<_> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["d12.yml", "d13.yml", "el9.yml"]);
    let keys_readme = std::fs::read_to_string(recipes_dir().join("keys/README.md")).unwrap();
    for file in &files {
        let recipe = Recipe::load(file).unwrap_or_else(|e| panic!("{e:#}"));
        let os = file.file_stem().unwrap().to_str().unwrap();
        assert_eq!(recipe.os, os);
        assert_eq!(
            recipe.bundle_name(),
            format!("pigsty-pkg-{}.{os}.x86_64.tgz", recipe.version)
        );
        for up in &recipe.upstream {
            assert!(
                !up.mirror_refs().is_empty(),
                "{os}: {} names no mirror",
                up.name
            );
            let keyring = recipe.keyring_path(up, &recipes_dir());
            if Path::new(&up.keyring).is_absolute() {
                assert!(
                    keyring.exists(),
                    "{os}: {} keyring {} missing",
                    up.name,
                    keyring.display()
                );
            } else {
                // Keys no Debian package ships are documented for the
                // builder to supply.
                let file = keyring.file_name().unwrap().to_str().unwrap();
                assert!(
                    keyring.exists() || keys_readme.contains(&format!("`{file}`")),
                    "{os}: {} keyring {file} neither present nor documented",
                    up.name
                );
            }
        }
        let all = recipe.packages(&[]).unwrap();
        assert!(
            all.iter().any(|w| w.module == "pgsql"),
            "{os}: no pgsql module"
        );
        let every: Vec<String> = recipe.selectors();
        assert!(recipe.packages(&every).unwrap().len() > all.len());
        let third_party: Vec<_> = recipe.upstream.iter().filter(|u| u.third_party).collect();
        assert!(
            !third_party.is_empty(),
            "{os}: grafana and minio need a third-party upstream"
        );
    }
}

#[test]
fn d12_extensions_are_every_bookworm_postgresql_15_package() {
    let apt = match apt_pkgnames("postgresql-15-") {
        Ok(names) => names,
        Err(why) => {
            eprintln!("skipping: {why}");
            return;
        }
    };
    let recipe = Recipe::load(&recipes_dir().join("d12.yml")).unwrap();
    let listed: BTreeSet<String> = recipe
        .packages(&["ext".to_string()])
        .unwrap()
        .into_iter()
        .map(|w| w.name)
        .chain(recipe.packages(&[]).unwrap().into_iter().map(|w| w.name))
        .filter(|n| n.starts_with("postgresql-15-"))
        .collect();
    let missing: Vec<_> = apt.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&apt).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "not in d12.yml: {missing:?}; not in bookworm: {extra:?}"
    );
    assert_eq!(listed.len(), 79);
}

#[test]
fn d12_names_only_real_bookworm_packages() {
    let apt = match apt_pkgnames("") {
        Ok(names) => names,
        Err(why) => {
            eprintln!("skipping: {why}");
            return;
        }
    };
    let recipe = Recipe::load(&recipes_dir().join("d12.yml")).unwrap();
    let all = recipe.packages(&recipe.selectors()).unwrap();
    let unknown: Vec<_> = all
        .iter()
        .filter(|w| !THIRD_PARTY_MODULES.contains(&w.module.as_str()) && !apt.contains(&w.name))
        .map(|w| format!("{}@{}", w.name, w.module))
        .collect();
    assert!(
        unknown.is_empty(),
        "not real packages in bookworm: {unknown:?}"
    );
    // The third-party modules really are absent from Debian.
    for module in THIRD_PARTY_MODULES {
        for w in recipe.packages(&[module.to_string()]).unwrap() {
            assert!(
                !apt.contains(&w.name),
                "{} is in Debian; it need not be third party",
                w.name
            );
        }
    }
}

#[test]
fn unknown_keys_in_real_recipe_name_file_line_and_path() {
    let path = recipes_dir().join("d12.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text
        .lines()
        .position(|l| l == "    suites: [bookworm-security]")
        .unwrap()
        + 1;
    let typo = text.replace(
        "    suites: [bookworm-security]",
        "    suit: [bookworm-security]",
    );
    let err = Recipe::parse(&typo, "recipes/d12.yml")
        .unwrap_err()
        .to_string();
    let want = format!(
        "recipes/d12.yml:{line}:5: upstream[1].suit: unknown field `suit`, expected one of"
    );
    assert!(err.starts_with(&want), "{err}");

    let top = text.replace(
        "kind: deb\n\nupstream:",
        "kind: deb\npg_version: 15\n\nupstream:",
    );
    assert_ne!(top, text);
    let err = Recipe::parse(&top, "recipes/d12.yml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(":1: pg_version: unknown field `pg_version`"),
        "{err}"
    );

    let missing = text.replace("    keyring: keys/pigsty.asc\n", "");
    let err = Recipe::parse(&missing, "recipes/d12.yml")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("recipes/d12.yml:") && err.contains("keyring"),
        "{err}"
    );
}

#[test]
fn unknown_selector_lists_valid_ones() {
    let recipe = Recipe::load(&recipes_dir().join("d12.yml")).unwrap();
    for bad in ["pgsq", "ext:nope", "ext:"] {
        let err = recipe.packages(&[bad.to_string()]).unwrap_err().to_string();
        assert!(err.contains(&format!("{bad:?}")), "{err}");
        assert!(
            err.contains("pgsql") && err.contains("ext:gis") && err.contains(", ext,"),
            "{err}"
        );
    }
    let gis = recipe.packages(&["ext:gis".to_string()]).unwrap();
    assert!(gis.iter().all(|w| w.module == "ext:gis"));
    assert!(gis.iter().any(|w| w.name == "postgresql-15-postgis-3"));
}
