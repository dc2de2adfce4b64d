//! Content-addressed download cache: `<root>/sha256/<aa>/<hex>`.
//!
//! A file enters the cache only after its sha256 was checked, by an atomic
//! rename, so a path the cache hands out always holds complete, verified
//! content. Partial downloads live in `<root>/tmp/*.part` until then, where a
//! later run can resume them.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The content-addressed store. Cheap to clone: it is only its root path.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// `$PIG_CACHE`, else `$XDG_CACHE_HOME/pig`, else `~/.cache/pig`.
    pub fn default_dir() -> Result<PathBuf> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        if let Some(dir) = var("PIG_CACHE") {
            return Ok(PathBuf::from(dir));
        }
        if let Some(dir) = var("XDG_CACHE_HOME") {
            return Ok(PathBuf::from(dir).join("pig"));
        }
        match var("HOME") {
            Some(home) => Ok(PathBuf::from(home).join(".cache/pig")),
            None => bail!("no cache directory: set PIG_CACHE, XDG_CACHE_HOME or HOME"),
        }
    }

    /// Open (creating if needed) the cache at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Cache> {
        let root = root.into();
        for sub in ["sha256", "tmp"] {
            let dir = root.join(sub);
            fs::create_dir_all(&dir)
                .with_context(|| format!("creating cache directory {}", dir.display()))?;
        }
        Ok(Cache { root })
    }

    /// The cache's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where content with this sha256 lives, whether or not it is present.
    /// `None` if `sha256` is not 64 hex digits.
    pub fn path_for(&self, sha256: &str) -> Option<PathBuf> {
        let valid = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            return None;
        }
        let hex = sha256.to_ascii_lowercase();
        Some(self.root.join("sha256").join(&hex[..2]).join(&hex))
    }

    /// The cached file with this sha256, if present and (when `size` is
    /// given) of that size. Content was verified when it entered the cache.
    pub fn get(&self, sha256: &str, size: Option<u64>) -> Option<PathBuf> {
        let path = self.path_for(sha256)?;
        let meta = fs::metadata(&path).ok()?;
        let right_size = size.is_none_or(|s| s == meta.len());
        (meta.is_file() && right_size).then_some(path)
    }

    /// Move `tmp_path`, whose content the caller has verified to have this
    /// sha256, into the cache. The file is synced first and made read-only,
    /// since bundles hard-link it. If the content is already cached,
    /// `tmp_path` is removed and the existing file kept.
    pub fn insert_file(&self, tmp_path: &Path, sha256: &str) -> Result<PathBuf> {
        let Some(dest) = self.path_for(sha256) else {
            bail!("not a sha256 digest: {sha256:?}");
        };
        let file =
            fs::File::open(tmp_path).with_context(|| format!("opening {}", tmp_path.display()))?;
        file.sync_all()
            .with_context(|| format!("syncing {}", tmp_path.display()))?;
        let mut perms = file
            .metadata()
            .with_context(|| format!("reading {}", tmp_path.display()))?
            .permissions();
        perms.set_readonly(true);
        fs::set_permissions(tmp_path, perms)
            .with_context(|| format!("making {} read-only", tmp_path.display()))?;
        drop(file);
        if dest.is_file() {
            fs::remove_file(tmp_path)
                .with_context(|| format!("removing {}", tmp_path.display()))?;
            return Ok(dest);
        }
        let parent = dest.parent().unwrap_or(&self.root);
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        match fs::rename(tmp_path, &dest) {
            Ok(()) => Ok(dest),
            Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
                // tmp_path is outside the cache's file system: copy into the
                // cache first so the final step is still an atomic rename.
                let staged = self.temp_path(&format!("{sha256}.insert"));
                fs::copy(tmp_path, &staged)
                    .with_context(|| format!("copying {} into the cache", tmp_path.display()))?;
                fs::rename(&staged, &dest).with_context(|| {
                    format!("renaming {} to {}", staged.display(), dest.display())
                })?;
                fs::remove_file(tmp_path)
                    .with_context(|| format!("removing {}", tmp_path.display()))?;
                Ok(dest)
            }
            Err(e) => Err(e)
                .with_context(|| format!("renaming {} to {}", tmp_path.display(), dest.display())),
        }
    }

    /// Make `dest` a hard link to the cached content (a copy when the cache
    /// is on another file system or links are refused). Parent directories
    /// are created and an existing `dest` is replaced. A linked `dest` shares
    /// the cache's inode, and root ignores the read-only bit: change such a
    /// file only by writing a new one and renaming it over `dest`.
    pub fn link_into(&self, sha256: &str, dest: &Path) -> Result<()> {
        let Some(src) = self.get(sha256, None) else {
            bail!(
                "sha256 {sha256} is not in the cache at {}",
                self.root.display()
            );
        };
        if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        match fs::remove_file(dest) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("replacing {}", dest.display())),
        }
        if fs::hard_link(&src, dest).is_ok() {
            return Ok(());
        }
        // Copy beside dest and rename, so dest is never seen half-written.
        let mut staged = dest.as_os_str().to_owned();
        staged.push(".pig-tmp");
        let staged = PathBuf::from(staged);
        fs::copy(&src, &staged)
            .with_context(|| format!("copying {} to {}", src.display(), staged.display()))?;
        let mut perms = fs::metadata(&staged)
            .with_context(|| format!("reading {}", staged.display()))?
            .permissions();
        // The copy is the caller's own file: writable by its owner only
        // (`set_readonly(false)` would make it world-writable).
        perms.set_mode(perms.mode() | 0o200);
        fs::set_permissions(&staged, perms)
            .with_context(|| format!("making {} writable", staged.display()))?;
        fs::rename(&staged, dest)
            .with_context(|| format!("renaming {} to {}", staged.display(), dest.display()))
    }

    /// In-cache path for a partial download named `name` (any text; unsafe
    /// characters are replaced), ending in `.part`. The same name gives the
    /// same path, so an interrupted download can be resumed.
    pub fn temp_path(&self, name: &str) -> PathBuf {
        let safe: String = name
            .chars()
            .take(120)
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let safe = safe.trim_start_matches('.');
        self.root.join("tmp").join(format!("{safe}.part"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn insert_get_link() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path().join("c")).unwrap();
        assert!(cache.get(HELLO, None).is_none());
        assert!(cache.get("zz", None).is_none());
        let tmp = cache.temp_path("some/url?x=1");
        assert!(tmp.starts_with(dir.path().join("c/tmp")));
        assert!(tmp.to_str().unwrap().ends_with("some_url_x_1.part"));
        fs::write(&tmp, "hello").unwrap();
        let path = cache.insert_file(&tmp, HELLO).unwrap();
        assert_eq!(path, dir.path().join("c/sha256/2c").join(HELLO));
        assert!(!tmp.exists());
        assert_eq!(cache.get(HELLO, Some(5)), Some(path.clone()));
        assert!(cache.get(HELLO, Some(6)).is_none());
        assert!(fs::metadata(&path).unwrap().permissions().readonly());

        // A second insert of the same content keeps the first.
        fs::write(&tmp, "hello").unwrap();
        assert_eq!(cache.insert_file(&tmp, HELLO).unwrap(), path);
        assert!(!tmp.exists());

        let dest = dir.path().join("out/a/hello.deb");
        cache.link_into(HELLO, &dest).unwrap();
        cache.link_into(HELLO, &dest).unwrap();
        assert_eq!(fs::read_to_string(&dest).unwrap(), "hello");
        assert!(cache.link_into(&"0".repeat(64), &dest).is_err());
        assert!(cache.insert_file(&tmp, "nothex").is_err());
    }
}
