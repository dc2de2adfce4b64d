//! The resolver on small hand-written universes: one rule of apt's per test.

use pig_repo::deb::control::Paragraphs;
use pig_repo::resolve::{Closure, Reason, ResolveError, ResolveOptions, Universe, resolve};

/// Build a universe from `(repository, priority, stanzas)`. Stanzas without
/// `Architecture` are `amd64`; the download fields are filled in.
fn universe(repos: &[(&str, i32, &str)]) -> Universe {
    let mut u = Universe::new("amd64");
    for (name, priority, text) in repos {
        let repo = u.add_repo(name, *priority);
        for para in Paragraphs::new(text, name) {
            let mut para = para.unwrap();
            if para.get("Architecture").is_none() {
                para.set("Architecture", "amd64");
            }
            let file = format!(
                "pool/{}_{}.deb",
                para.get("Package").unwrap(),
                para.get("Version").unwrap()
            );
            para.set("Filename", file);
            para.set("Size", "1000");
            para.set("SHA256", "00".repeat(32));
            u.add_deb(repo, &para, name).unwrap();
        }
    }
    u
}

fn wanted(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn run(u: &Universe, names: &[&str]) -> Result<Closure, ResolveError> {
    resolve(u, &wanted(names), &ResolveOptions::default())
}

/// `name=version` for every package of the closure, sorted by name.
fn picked(c: &Closure) -> Vec<String> {
    c.packages
        .iter()
        .map(|s| format!("{}={}", s.name, s.version))
        .collect()
}

#[test]
fn first_installable_alternative_wins() {
    let u = universe(&[(
        "main",
        500,
        "Package: app\nVersion: 1\nDepends: missing | gawk | mawk\n\n\
         Package: gawk\nVersion: 5\n\n\
         Package: mawk\nVersion: 1.3\n",
    )]);
    let c = run(&u, &["app"]).unwrap();
    assert_eq!(picked(&c), ["app=1", "gawk=5"]);
}

#[test]
fn an_alternative_already_selected_is_used() {
    let u = universe(&[(
        "main",
        500,
        "Package: app\nVersion: 1\nDepends: gawk | mawk\n\n\
         Package: gawk\nVersion: 5\n\n\
         Package: mawk\nVersion: 1.3\n",
    )]);
    let c = run(&u, &["app", "mawk"]).unwrap();
    assert_eq!(picked(&c), ["app=1", "mawk=1.3"]);
}

#[test]
fn alternative_with_too_old_candidate_is_skipped() {
    let u = universe(&[(
        "main",
        500,
        "Package: app\nVersion: 1\nDepends: libx (>= 2) | liby\n\n\
         Package: libx\nVersion: 1.9\n\n\
         Package: liby\nVersion: 1\n",
    )]);
    assert_eq!(picked(&run(&u, &["app"]).unwrap()), ["app=1", "liby=1"]);
}

#[test]
fn virtual_package_with_one_provider() {
    let u = universe(&[(
        "main",
        500,
        "Package: app\nVersion: 1\nDepends: mail-transport-agent\n\n\
         Package: postfix\nVersion: 3.7\nProvides: mail-transport-agent\n",
    )]);
    let c = run(&u, &["app"]).unwrap();
    assert_eq!(picked(&c), ["app=1", "postfix=3.7"]);
    assert_eq!(
        c.why("postfix").unwrap(),
        ["app Depends mail-transport-agent"]
    );
}

#[test]
fn virtual_package_with_several_providers_prefers_wanted_then_priority() {
    let stanzas = "Package: app\nVersion: 1\nDepends: mta\n\n\
         Package: exim\nVersion: 4\nPriority: optional\nProvides: mta\n\n\
         Package: postfix\nVersion: 3\nPriority: standard\nProvides: mta\n";
    let u = universe(&[("main", 500, stanzas)]);
    // apt's CompareProviders: the lower Priority rank (standard) wins...
    assert_eq!(picked(&run(&u, &["app"]).unwrap()), ["app=1", "postfix=3"]);
    // ...unless a provider is wanted (protected) itself.
    assert_eq!(
        picked(&run(&u, &["app", "exim"]).unwrap()),
        ["app=1", "exim=4"]
    );
    // A wanted virtual name with several providers is refused as apt does...
    let e = run(&u, &["mta"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "mta is a virtual package provided by exim, postfix; name one of them"
    );
    // ...unless one of them is wanted by its own name.
    assert_eq!(picked(&run(&u, &["mta", "exim"]).unwrap()), ["exim=4"]);
}

#[test]
fn versioned_provides() {
    let u = universe(&[(
        "main",
        500,
        "Package: app\nVersion: 1\nDepends: libfoo (>= 2)\n\n\
         Package: libfoo\nVersion: 1\n\n\
         Package: libfoo-ng\nVersion: 7\nProvides: libfoo (= 2.5)\n\n\
         Package: libfoo-compat\nVersion: 9\nProvides: libfoo\n",
    )]);
    // The real libfoo is too old and an unversioned Provides cannot satisfy
    // a versioned dependency: only libfoo-ng fits.
    assert_eq!(
        picked(&run(&u, &["app"]).unwrap()),
        ["app=1", "libfoo-ng=7"]
    );
}

#[test]
fn priority_beats_version() {
    let u = universe(&[
        ("upstream", 500, "Package: pg\nVersion: 16.1\n"),
        ("local", 900, "Package: pg\nVersion: 15.4\n"),
        ("never", -1, "Package: pg\nVersion: 17.0\n"),
    ]);
    let c = run(&u, &["pg"]).unwrap();
    assert_eq!(picked(&c), ["pg=15.4"]);
    assert_eq!(c.packages[0].repo, "local");
    let same = universe(&[
        ("a", 500, "Package: pg\nVersion: 15.4\n"),
        ("b", 500, "Package: pg\nVersion: 15.10\n"),
    ]);
    let c = run(&same, &["pg"]).unwrap();
    assert_eq!(
        (picked(&c), c.packages[0].repo.as_str()),
        (vec!["pg=15.10".to_string()], "b")
    );
}

#[test]
fn arch_all_is_native_and_foreign_arches_are_ignored() {
    let u = universe(&[(
        "main",
        500,
        "Package: app\nVersion: 1\nArchitecture: all\nDepends: lib\n\n\
         Package: lib\nVersion: 9\nArchitecture: arm64\n\n\
         Package: lib\nVersion: 2\nArchitecture: amd64\n",
    )]);
    let c = run(&u, &["app"]).unwrap();
    assert_eq!(picked(&c), ["app=1", "lib=2"]);
    assert_eq!(c.get("app").unwrap().arch, "all");
    assert_eq!(c.get("lib").unwrap().arch, "amd64");
}

#[test]
fn any_qualifier_needs_multi_arch_allowed() {
    let u = universe(&[(
        "main",
        500,
        "Package: script\nVersion: 1\nDepends: python3:any\n\n\
         Package: python3\nVersion: 3.11\nMulti-Arch: allowed\n\n\
         Package: tool\nVersion: 1\nDepends: libc:any\n\n\
         Package: libc\nVersion: 2.36\nMulti-Arch: same\n",
    )]);
    assert_eq!(
        picked(&run(&u, &["script"]).unwrap()),
        ["python3=3.11", "script=1"]
    );
    let e = run(&u, &["tool"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "tool → libc:any: no candidate satisfies; candidates: 2.36"
    );
}

#[test]
fn unsatisfiable_chain_names_every_step() {
    let u = universe(&[(
        "main",
        500,
        "Package: postgresql\nVersion: 15+248\nDepends: postgresql-15\n\n\
         Package: postgresql-15\nVersion: 15.5-0+deb12u1\nDepends: libpq5 (>= 15.4)\n\n\
         Package: libpq5\nVersion: 15.3-0+deb12u1\n",
    )]);
    let e = run(&u, &["postgresql"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "postgresql → postgresql-15 → libpq5 (>= 15.4): no candidate satisfies; \
         candidates: 15.3-0+deb12u1"
    );
    let e = run(&u, &["nosuch"]).unwrap_err();
    assert_eq!(e, ResolveError::NotFound("nosuch".into()));
}

#[test]
fn why_gives_the_chain_from_a_wanted_package() {
    let u = universe(&[(
        "main",
        500,
        "Package: postgresql-15\nVersion: 15.5\nDepends: postgresql-common (>= 252), libpq5\n\n\
         Package: postgresql-common\nVersion: 253\nDepends: ssl-cert\n\n\
         Package: ssl-cert\nVersion: 1.1\n\n\
         Package: libpq5\nVersion: 15.5\n",
    )]);
    let c = run(&u, &["postgresql-15"]).unwrap();
    assert_eq!(
        c.why("ssl-cert").unwrap(),
        [
            "postgresql-15 Depends postgresql-common (>= 252)",
            "postgresql-common Depends ssl-cert"
        ]
    );
    assert_eq!(c.why("postgresql-15").unwrap(), Vec::<String>::new());
    assert_eq!(c.get("postgresql-15").unwrap().reason, Reason::Wanted);
    assert!(c.why("absent").is_none());
    let lib = c.get("libpq5").unwrap();
    let p = u.package(lib.id);
    assert_eq!(
        (p.filename.as_str(), p.size),
        ("pool/libpq5_15.5.deb", 1000)
    );
}

#[test]
fn pins_select_an_exact_version() {
    let u = universe(&[
        (
            "a",
            500,
            "Package: pg\nVersion: 15.4\nDepends: lib (= 15.4)\n\nPackage: lib\nVersion: 15.4\n",
        ),
        (
            "b",
            500,
            "Package: pg\nVersion: 15.10\n\nPackage: lib\nVersion: 15.10\n",
        ),
    ]);
    assert_eq!(picked(&run(&u, &["pg"]).unwrap()), ["pg=15.10"]);
    // The pin moves pg's candidate; lib = 15.4 then needs the old lib, which
    // is not its candidate: an error as with apt-get.
    let e = run(&u, &["pg=15.4"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "pg → lib (= 15.4): no candidate satisfies; candidates: 15.4, 15.10"
    );
    assert_eq!(
        picked(&run(&u, &["pg=15.4", "lib=15.4"]).unwrap()),
        ["lib=15.4", "pg=15.4"]
    );
    let e = run(&u, &["pg=14"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "version 14 of pg not found; available: 15.4, 15.10"
    );
}

#[test]
fn recommends_are_followed_on_request_and_skipped_when_unsatisfiable() {
    let u = universe(&[(
        "main",
        500,
        "Package: app\nVersion: 1\nRecommends: helper, missing\n\n\
         Package: helper\nVersion: 2\n",
    )]);
    assert_eq!(picked(&run(&u, &["app"]).unwrap()), ["app=1"]);
    let c = resolve(
        &u,
        &wanted(&["app"]),
        &ResolveOptions {
            with_recommends: true,
        },
    )
    .unwrap();
    assert_eq!(picked(&c), ["app=1", "helper=2"]);
    assert_eq!(c.why("helper").unwrap(), ["app Recommends helper"]);
}

#[test]
fn uninstallable_alternative_falls_through() {
    // apt drops the candidate of a package whose Depends cannot be met, so
    // the next alternative is taken.
    let u = universe(&[(
        "main",
        500,
        "Package: app\nVersion: 1\nDepends: broken | good\n\n\
         Package: broken\nVersion: 1\nDepends: nowhere\n\n\
         Package: good\nVersion: 1\n",
    )]);
    assert_eq!(picked(&run(&u, &["app"]).unwrap()), ["app=1", "good=1"]);
}

#[test]
fn conflicts_in_the_closure_are_errors() {
    let u = universe(&[(
        "main",
        500,
        "Package: a\nVersion: 1\nConflicts: b (<< 2)\n\n\
         Package: b\nVersion: 1\n",
    )]);
    let e = run(&u, &["a", "b"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "a Conflicts b (<< 2), but b is in the closure too"
    );
}

#[test]
fn errors_name_input_line_and_field() {
    let mut u = Universe::new("amd64");
    let repo = u.add_repo("main", 500);
    let text =
        "Package: a\nVersion: 1\nArchitecture: amd64\nFilename: a.deb\nSize: lots\nSHA256: 00\n";
    let para = Paragraphs::new(text, "Packages").next().unwrap().unwrap();
    let e = u.add_deb(repo, &para, "Packages").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Packages: line 5: Size: not a size: \"lots\""
    );
    let text = "Package: a\nVersion: 1:\nArchitecture: amd64\n";
    let para = Paragraphs::new(text, "Packages").next().unwrap().unwrap();
    let e = u.add_deb(repo, &para, "Packages").unwrap_err();
    assert!(
        e.to_string().starts_with("Packages: line 2: Version: "),
        "{e}"
    );
}
