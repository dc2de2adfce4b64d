//! The one table of Pigsty parameters pig knows: type, default and flags,
//! read from `defaults.yml` (data, embedded in the binary).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::params::ParamType;
use super::yaml::{self, Node};

/// The table's text, kept as data so it reads like Pigsty's own defaults.
const TABLE: &str = include_str!("defaults.yml");

/// One parameter of the table.
#[derive(Debug)]
pub struct ParamSpec {
    /// Pigsty's parameter name.
    pub name: String,
    /// What values it takes.
    pub ty: ParamType,
    /// Pigsty's default, `None` for identity parameters without one.
    pub default: Option<Node>,
    /// A credential: Pigsty's default value for it is well known.
    pub secret: bool,
    /// Accepted for compatibility; pig does not act on it.
    pub ignored: bool,
}

/// All parameters by name.
pub fn table() -> &'static BTreeMap<String, ParamSpec> {
    static TABLE_CELL: OnceLock<BTreeMap<String, ParamSpec>> = OnceLock::new();
    TABLE_CELL.get_or_init(|| match load(TABLE) {
        Ok(t) => t,
        // The table is compiled in and checked by a unit test, so this is
        // a build defect, not an input error.
        Err(e) => panic!("defaults.yml: {e}"),
    })
}

/// The specification of `name`, if pig knows the parameter.
pub fn spec(name: &str) -> Option<&'static ParamSpec> {
    table().get(name)
}

/// The known parameter whose name is closest to `name`, for "did you mean".
pub fn closest(name: &str) -> Option<&'static str> {
    table()
        .keys()
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min()
        .map(|(_, k)| k.as_str())
}

fn load(text: &str) -> Result<BTreeMap<String, ParamSpec>, String> {
    let root = yaml::parse(text, "defaults.yml").map_err(|e| e.to_string())?;
    let entries = root.as_map().ok_or("not a mapping")?;
    let mut out = BTreeMap::new();
    for (name, entry) in entries {
        let ty = entry
            .get("type")
            .and_then(Node::as_str)
            .ok_or_else(|| format!("{name}: no type"))?;
        let ty = ParamType::parse(ty).map_err(|e| format!("{name}: {e}"))?;
        let default = entry.get("default").cloned();
        if let Some(d) = &default {
            ty.check(d).map_err(|e| format!("{name}: default: {e}"))?;
        }
        let flag = |key: &str| entry.get(key).and_then(Node::as_bool).unwrap_or(false);
        out.insert(
            name.clone(),
            ParamSpec {
                name: name.clone(),
                ty,
                default,
                secret: flag("secret"),
                ignored: flag("ignored"),
            },
        );
    }
    Ok(out)
}

/// Levenshtein distance over bytes (parameter names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let subst = prev[j] + usize::from(ca != cb);
            cur[j + 1] = subst.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_loads_and_defaults_type_check() {
        let t = table();
        assert!(t.len() > 250, "{}", t.len());
        assert_eq!(
            spec("pg_version")
                .unwrap()
                .default
                .as_ref()
                .unwrap()
                .as_int(),
            Some(18)
        );
        assert!(spec("pg_admin_password").unwrap().secret);
        assert!(spec("docker_enabled").unwrap().ignored);
        assert!(spec("pg_cluster").unwrap().default.is_none());
    }

    #[test]
    fn suggests_near_names() {
        assert_eq!(closest("pg_clustr"), Some("pg_cluster"));
        assert_eq!(closest("node_tunes"), Some("node_tune"));
        assert_eq!(closest("completely_unrelated_thing"), None);
    }
}
