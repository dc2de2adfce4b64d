//! The dependency closure resolver: which packages, at which versions and
//! from which repositories, `apt-get install` would put on an empty system
//! for a list of wanted packages.
//!
//! [`Universe`] holds the packages of several repositories in a
//! format-agnostic form (name, architecture, version ordered by the
//! format's comparator, provides, dependency groups); [`Universe::add_deb`]
//! reads a Debian `Packages` stanza into it, [`Universe::add_rpm`] a
//! package of RPM repodata (see [`rpm`] for how RPM dependencies map). [`resolve`] walks the
//! dependencies the way apt's `MarkInstall` does (see [`solve`] for what is
//! mirrored and the one rule added where apt refuses) and returns a
//! [`Closure`] that can explain itself with [`Closure::why`].

mod deb;
pub mod rpm;
pub mod solve;
mod universe;

pub use rpm::{compare_evr, evr_string};
pub use solve::{Closure, Reason, ResolveError, ResolveOptions, Selected, resolve};
pub use universe::{
    Atom, DepKind, Group, MultiArch, Op, Package, PkgId, Provide, RepoId, Universe,
};
