//! Verified, concurrent, resumable downloads into the [`Cache`].
//!
//! Each download goes to an in-cache `.part` file while its sha256 is
//! computed on the fly; only after the size and digest match does the file
//! enter the cache, by rename. Transient failures (connection errors,
//! timeouts, 5xx, 429, a body cut mid-stream) are retried with exponential
//! backoff, resuming the `.part` file with an HTTP `Range` request; a 404, a
//! 403 or a wrong digest fails at once. reqwest's own retry support is not
//! used because it does not retry a body that drops mid-stream.

use std::collections::{HashMap, HashSet};
use std::error::Error as StdError;
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use backon::{ExponentialBuilder, Retryable};
use futures_util::{StreamExt, stream};
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, RANGE};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncWriteExt, BufWriter};

use crate::cache::Cache;

/// One file to fetch. `size` and `sha256` come from a verified index; when
/// given they are checked before the file enters the cache, and a file
/// already cached under `sha256` is not downloaded again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchItem {
    /// `http://`, `https://` or `file://` URL.
    pub url: String,
    /// What to call the file in messages, e.g. `postgresql-17_17.2-1.deb`.
    pub name: String,
    pub size: Option<u64>,
    /// Lower- or upper-case hex digest.
    pub sha256: Option<String>,
}

/// How a [`Fetcher`] downloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// Downloads in flight at once (at least 1).
    pub concurrency: usize,
    /// Retries of a transient failure per file, after the first attempt.
    pub retries: u32,
    /// Report progress on stderr: a progress bar on a terminal, one line per
    /// file otherwise.
    pub progress: bool,
    /// Limit for connecting and for each wait on data, not for a whole
    /// download (large files on slow links must still complete).
    pub timeout: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            concurrency: 8,
            retries: 5,
            progress: true,
            timeout: Duration::from_secs(60),
        }
    }
}

/// A fetched file, verified and in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub item: FetchItem,
    /// The file in the cache; link it out with [`Cache::link_into`].
    pub path: PathBuf,
    /// True if the file was in the cache before this fetch.
    pub from_cache: bool,
    /// The file's size.
    pub bytes: u64,
}

/// What a [`Fetcher`] did over its lifetime, for build reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FetchSummary {
    /// Files delivered by `fetch_all`, downloaded or cached.
    pub files: u64,
    /// Files that had to be downloaded.
    pub downloaded: u64,
    /// Bytes received over the network or copied from `file://` URLs.
    pub bytes_downloaded: u64,
    /// Files found in the cache.
    pub from_cache: u64,
    /// Retries after transient failures.
    pub retries: u64,
    /// Wall-clock seconds spent in `fetch_all` and `fetch_bytes`.
    pub seconds: f64,
}

/// Why a download failed. Callers match on it (e.g. an optional index that
/// is [`FetchError::NotFound`]); `fetch_all` errors downcast to it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// HTTP 404 or 410, or a missing `file://` path. Not retried.
    #[error("{url}: not found")]
    NotFound { url: String },
    /// The content's digest is not the expected one. Not retried.
    #[error("{url}: sha256 mismatch: expected {expected}, got {actual}")]
    Hash {
        url: String,
        expected: String,
        actual: String,
    },
    /// The content's length is not the expected one. Not retried.
    #[error("{url}: size mismatch: expected {expected} bytes, got {actual}")]
    Size {
        url: String,
        expected: u64,
        actual: u64,
    },
    /// Any other unsuccessful HTTP status; 5xx, 429 and 408 are retried.
    #[error("{url}: HTTP status {status}")]
    Http { url: String, status: u16 },
    /// Connecting, a timeout, a body cut short, an unusable URL. Retried.
    #[error("{url}: {source}")]
    Transport {
        url: String,
        source: Box<dyn StdError + Send + Sync>,
    },
    /// A local file (a `file://` source, the cache) could not be used.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}

impl FetchError {
    /// The server said the file does not exist (HTTP 404 or 410, or a
    /// missing `file://` path).
    pub fn is_not_found(&self) -> bool {
        matches!(self, FetchError::NotFound { .. })
    }

    /// Whether trying again may succeed: transport failures, 5xx, 429, 408.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Transport { .. } => true,
            FetchError::Http { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            _ => false,
        }
    }

    fn transport(url: &str, message: impl Into<String>) -> FetchError {
        FetchError::Transport {
            url: url.to_string(),
            source: message.into().into(),
        }
    }

    /// reqwest's top-level message hides the cause ("error sending
    /// request"); keep the whole chain, which says "connection refused".
    fn from_reqwest(url: &str, err: reqwest::Error) -> FetchError {
        let err = err.without_url();
        let mut message = err.to_string();
        let mut cause = err.source();
        while let Some(c) = cause {
            let text = c.to_string();
            if !message.contains(&text) {
                let _ = write!(message, ": {text}");
            }
            cause = c.source();
        }
        FetchError::transport(url, message)
    }

    fn io(path: &Path, source: io::Error) -> FetchError {
        FetchError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

#[derive(Default)]
struct Counters {
    files: AtomicU64,
    downloaded: AtomicU64,
    bytes: AtomicU64,
    from_cache: AtomicU64,
    retries: AtomicU64,
    nanos: AtomicU64,
}

/// Downloads [`FetchItem`]s into a [`Cache`]. One `Fetcher` is meant to
/// serve a whole build, so its connection pool and summary cover it all.
pub struct Fetcher {
    client: reqwest::Client,
    cache: Cache,
    opts: FetchOptions,
    counters: Counters,
}

impl Fetcher {
    /// A fetcher downloading into `cache`, with one HTTP client (and
    /// connection pool) for all its requests.
    pub fn new(cache: Cache, opts: FetchOptions) -> anyhow::Result<Fetcher> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("pig-build/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(opts.timeout)
            .read_timeout(opts.timeout)
            .build()
            .context("setting up the HTTP client")?;
        Ok(Fetcher {
            client,
            cache,
            opts,
            counters: Counters::default(),
        })
    }

    /// The cache files are fetched into.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// Fetch every item into the cache, at most `concurrency` at once, and
    /// return them in the order given. Items already cached (by sha256) are
    /// not downloaded; items with the same sha256 are downloaded once. Every
    /// item is attempted, so one error lists all missing files, except that
    /// after a transient failure outlasts its retries no new download
    /// starts. The error downcasts to the first failure's [`FetchError`].
    pub async fn fetch_all(&self, items: Vec<FetchItem>) -> anyhow::Result<Vec<Fetched>> {
        let started = Instant::now();
        let mut done: HashMap<String, Result<(PathBuf, bool), FetchError>> = HashMap::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut todo: Vec<&FetchItem> = Vec::new();
        for item in &items {
            let key = download_key(item);
            if !seen.insert(key.clone()) {
                continue;
            }
            let cached = item
                .sha256
                .as_deref()
                .and_then(|sha| self.cache.get(sha, item.size));
            match cached {
                Some(path) => {
                    done.insert(key, Ok((path, true)));
                }
                None => todo.push(item),
            }
        }

        let total: u64 = todo.iter().filter_map(|i| i.size).sum();
        let progress = Progress::new(self.opts.progress, todo.len(), total);
        // Once a file still fails transiently after every retry, the server
        // is most likely down: starting the rest would only wait out their
        // backoffs one by one.
        let give_up = AtomicBool::new(false);
        let downloads: Vec<_> = stream::iter(todo)
            .map(|item| {
                let (progress, give_up) = (&progress, &give_up);
                async move {
                    if give_up.load(Ordering::Relaxed) {
                        return (download_key(item), None);
                    }
                    let result = self.download(item, progress).await;
                    if result.as_ref().is_err_and(FetchError::is_transient) {
                        give_up.store(true, Ordering::Relaxed);
                    }
                    (download_key(item), Some(result))
                }
            })
            .buffer_unordered(self.opts.concurrency.max(1))
            .collect()
            .await;
        progress.finish();
        for (key, result) in downloads {
            if let Some(result) = result {
                done.insert(key, result.map(|path| (path, false)));
            }
        }

        let mut fetched = Vec::with_capacity(items.len());
        let mut failed: Vec<&FetchItem> = Vec::new();
        let mut skipped = 0;
        for item in &items {
            match done.get(&download_key(item)) {
                Some(Ok((path, from_cache))) => {
                    let bytes = std::fs::metadata(path)
                        .map_err(|e| FetchError::io(path, e))?
                        .len();
                    fetched.push(Fetched {
                        item: item.clone(),
                        path: path.clone(),
                        from_cache: *from_cache,
                        bytes,
                    });
                }
                Some(Err(_)) => failed.push(item),
                None => skipped += 1,
            }
        }
        let c = &self.counters;
        c.nanos.fetch_add(elapsed_nanos(started), Ordering::Relaxed);
        c.files.fetch_add(fetched.len() as u64, Ordering::Relaxed);
        let hits = fetched.iter().filter(|f| f.from_cache).count() as u64;
        c.from_cache.fetch_add(hits, Ordering::Relaxed);

        let Some(first) = failed.first() else {
            return Ok(fetched);
        };
        let names: Vec<&str> = failed.iter().take(10).map(|i| i.name.as_str()).collect();
        let more = if failed.len() > 10 { ", …" } else { "" };
        let mut message = format!(
            "{} of {} files could not be fetched: {}{more}",
            failed.len(),
            items.len(),
            names.join(", ")
        );
        if skipped > 0 {
            let _ = write!(message, "; {skipped} more not tried after that");
        }
        // The first failure's own error stays underneath, for downcasting.
        match done.remove(&download_key(first)) {
            Some(Err(e)) => Err(anyhow::Error::new(e).context(message)),
            _ => Err(anyhow::anyhow!(message)),
        }
    }

    /// Download a small file (an index) into memory, with the same retries,
    /// bypassing the cache.
    pub async fn fetch_bytes(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let started = Instant::now();
        let attempt = || async {
            if let Some(path) = file_url_path(url)? {
                return tokio::fs::read(&path).await.map_err(|e| match e.kind() {
                    io::ErrorKind::NotFound => FetchError::NotFound { url: url.into() },
                    _ => FetchError::io(&path, e),
                });
            }
            let response = self.get(url, None).await?;
            let body = response
                .bytes()
                .await
                .map_err(|e| FetchError::from_reqwest(url, e))?;
            Ok(body.to_vec())
        };
        let result = attempt
            .retry(self.backoff())
            .when(FetchError::is_transient)
            .notify(|e, delay| self.note_retry(url, e, delay, None))
            .await;
        if let Ok(body) = &result {
            self.counters
                .bytes
                .fetch_add(body.len() as u64, Ordering::Relaxed);
        }
        self.counters
            .nanos
            .fetch_add(elapsed_nanos(started), Ordering::Relaxed);
        result
    }

    /// What this fetcher has done so far.
    pub fn summary(&self) -> FetchSummary {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        FetchSummary {
            files: get(&c.files),
            downloaded: get(&c.downloaded),
            bytes_downloaded: get(&c.bytes),
            from_cache: get(&c.from_cache),
            retries: get(&c.retries),
            seconds: get(&c.nanos) as f64 / 1e9,
        }
    }

    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(200))
            .with_max_delay(Duration::from_secs(15))
            .with_max_times(self.opts.retries as usize)
            .with_jitter()
    }

    fn note_retry(
        &self,
        what: &str,
        err: &FetchError,
        delay: Duration,
        progress: Option<&Progress>,
    ) {
        self.counters.retries.fetch_add(1, Ordering::Relaxed);
        if self.opts.progress {
            let line = format!("retrying {what} in {:.1}s: {err}", delay.as_secs_f64());
            match progress {
                Some(p) => p.println(&line),
                None => note(&line),
            }
        }
    }

    /// Download one item into the cache, with retries; returns its path.
    async fn download(&self, item: &FetchItem, progress: &Progress) -> Result<PathBuf, FetchError> {
        let started = Instant::now();
        let part = self.cache.temp_path(&download_key(item));
        if item.sha256.is_none() {
            // Without a digest nothing proves an old `.part` is a prefix of
            // today's file, so only resume within this call.
            remove_if_present(&part)?;
        }
        let attempt = || self.attempt(item, &part, progress);
        let (sha256, len) = attempt
            .retry(self.backoff())
            .when(FetchError::is_transient)
            .notify(|e, delay| self.note_retry(&item.name, e, delay, Some(progress)))
            .await?;
        let cache = self.cache.clone();
        let path = tokio::task::spawn_blocking(move || cache.insert_file(&part, &sha256))
            .await
            .map_err(|e| FetchError::io(self.cache.root(), io::Error::other(e)))?
            .map_err(|e| FetchError::io(self.cache.root(), io::Error::other(format!("{e:#}"))))?;
        self.counters.downloaded.fetch_add(1, Ordering::Relaxed);
        progress.file_done(item, len, started.elapsed());
        Ok(path)
    }

    /// One try: complete `part` (resuming what is there), then check size
    /// and digest. Returns the digest and length of the verified file.
    async fn attempt(
        &self,
        item: &FetchItem,
        part: &Path,
        progress: &Progress,
    ) -> Result<(String, u64), FetchError> {
        let url = item.url.as_str();
        let (sha256, len) = match file_url_path(url)? {
            Some(src) => {
                self.copy_local(url, src, part.to_path_buf(), progress)
                    .await?
            }
            None => self.download_http(item, part, progress).await?,
        };
        if let Some(expected) = item.size
            && expected != len
        {
            remove_if_present(part)?;
            return Err(FetchError::Size {
                url: url.into(),
                expected,
                actual: len,
            });
        }
        if let Some(expected) = &item.sha256
            && !expected.eq_ignore_ascii_case(&sha256)
        {
            remove_if_present(part)?;
            return Err(FetchError::Hash {
                url: url.into(),
                expected: expected.to_ascii_lowercase(),
                actual: sha256,
            });
        }
        Ok((sha256, len))
    }

    async fn copy_local(
        &self,
        url: &str,
        src: PathBuf,
        part: PathBuf,
        progress: &Progress,
    ) -> Result<(String, u64), FetchError> {
        let bar = progress.bar.clone();
        let url = url.to_string();
        let copied = tokio::task::spawn_blocking(move || -> Result<(String, u64), FetchError> {
            let mut input = std::fs::File::open(&src).map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => FetchError::NotFound { url },
                _ => FetchError::io(&src, e),
            })?;
            let mut output = std::fs::File::create(&part).map_err(|e| FetchError::io(&part, e))?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0; 1 << 18];
            let mut len = 0u64;
            loop {
                let n = input.read(&mut buf).map_err(|e| FetchError::io(&src, e))?;
                let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
                    break;
                };
                hasher.update(chunk);
                output
                    .write_all(chunk)
                    .map_err(|e| FetchError::io(&part, e))?;
                len += n as u64;
                if let Some(bar) = &bar {
                    bar.inc(n as u64);
                }
            }
            Ok((hex::encode(hasher.finalize()), len))
        })
        .await
        .map_err(|e| FetchError::io(self.cache.root(), io::Error::other(e)))??;
        self.counters.bytes.fetch_add(copied.1, Ordering::Relaxed);
        Ok(copied)
    }

    /// GET `url` (from byte `from` on, if given) and check the status.
    async fn get(&self, url: &str, from: Option<u64>) -> Result<reqwest::Response, FetchError> {
        let mut request = self.client.get(url);
        if let Some(from) = from {
            request = request.header(RANGE, format!("bytes={from}-"));
        }
        let response = request
            .send()
            .await
            .map_err(|e| FetchError::from_reqwest(url, e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        Err(match status {
            StatusCode::NOT_FOUND | StatusCode::GONE => FetchError::NotFound { url: url.into() },
            _ => FetchError::Http {
                url: url.into(),
                status: status.as_u16(),
            },
        })
    }

    async fn download_http(
        &self,
        item: &FetchItem,
        part: &Path,
        progress: &Progress,
    ) -> Result<(String, u64), FetchError> {
        let url = item.url.as_str();
        let mut have = match tokio::fs::metadata(part).await {
            Ok(meta) => meta.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(FetchError::io(part, e)),
        };
        if item.size.is_some_and(|size| have > size) {
            remove_if_present(part)?;
            have = 0;
        }
        let mut hasher = Sha256::new();
        if have > 0 {
            hasher = hash_prefix(part.to_path_buf(), self.cache.root()).await?;
            progress.inc(have);
            if item.size == Some(have) {
                // A previous run got every byte but stopped before the rename;
                // a complete part with the wrong digest is downloaded again.
                let digest = hex::encode(hasher.clone().finalize());
                if item
                    .sha256
                    .as_ref()
                    .is_none_or(|s| s.eq_ignore_ascii_case(&digest))
                {
                    return Ok((digest, have));
                }
                remove_if_present(part)?;
                progress.rewind(have);
                have = 0;
                hasher = Sha256::new();
            }
        }

        let response = match self.get(url, (have > 0).then_some(have)).await {
            Err(FetchError::Http { status: 416, .. }) if have > 0 => {
                // The server will not serve from where we stopped (the file
                // changed, or the part is bad): start over.
                remove_if_present(part)?;
                progress.rewind(have);
                return Err(FetchError::transport(
                    url,
                    "server refused to resume (HTTP 416)",
                ));
            }
            other => other?,
        };
        if have > 0 {
            if response.status() == StatusCode::PARTIAL_CONTENT {
                let start = range_start(
                    response
                        .headers()
                        .get(CONTENT_RANGE)
                        .and_then(|v| v.to_str().ok()),
                );
                if start != Some(have) {
                    remove_if_present(part)?;
                    progress.rewind(have);
                    return Err(FetchError::transport(
                        url,
                        format!(
                            "asked for bytes from {have} on, server sent Content-Range {start:?}"
                        ),
                    ));
                }
            } else {
                // A 200 is the whole file: the server ignores Range.
                progress.rewind(have);
                have = 0;
                hasher = Sha256::new();
            }
        }

        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(have > 0)
            .truncate(have == 0)
            .open(part)
            .await
            .map_err(|e| FetchError::io(part, e))?;
        let mut out = BufWriter::with_capacity(1 << 18, file);
        let mut len = have;
        let mut body = response.bytes_stream();
        let mut failure = None;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(e) => {
                    failure = Some(FetchError::from_reqwest(url, e));
                    break;
                }
            };
            len += chunk.len() as u64;
            if let Some(expected) = item.size
                && len > expected
            {
                // A wrong or hostile server must not fill the disk.
                drop(out);
                remove_if_present(part)?;
                progress.rewind(len - chunk.len() as u64);
                return Err(FetchError::Size {
                    url: url.into(),
                    expected,
                    actual: len,
                });
            }
            hasher.update(&chunk);
            out.write_all(&chunk)
                .await
                .map_err(|e| FetchError::io(part, e))?;
            self.counters
                .bytes
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            progress.inc(chunk.len() as u64);
        }
        // Flush even after a failure: what arrived is kept for the resume.
        out.flush().await.map_err(|e| FetchError::io(part, e))?;
        match failure {
            Some(e) => Err(e),
            None => Ok((hex::encode(hasher.finalize()), len)),
        }
    }
}

/// The cache-wide identity of a download: its digest, or its URL's digest
/// when no digest is known. Also names the `.part` file.
fn download_key(item: &FetchItem) -> String {
    match &item.sha256 {
        Some(sha) => sha.to_ascii_lowercase(),
        None => format!("url-{}", hex::encode(Sha256::digest(item.url.as_bytes()))),
    }
}

/// The local path of a `file://` URL, `None` for other schemes.
fn file_url_path(url: &str) -> Result<Option<PathBuf>, FetchError> {
    if !url.starts_with("file:") {
        return Ok(None);
    }
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.to_file_path().ok())
        .map(Some)
        .ok_or_else(|| FetchError::transport(url, "not a usable file:// URL"))
}

/// The first byte position of a `Content-Range: bytes START-END/TOTAL`.
fn range_start(value: Option<&str>) -> Option<u64> {
    let spec = value?.trim().strip_prefix("bytes")?.trim_start();
    spec.split('-').next()?.trim().parse().ok()
}

async fn hash_prefix(part: PathBuf, cache_root: &Path) -> Result<Sha256, FetchError> {
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(&part).map_err(|e| FetchError::io(&part, e))?;
        let mut hasher = Sha256::new();
        io::copy(&mut file, &mut hasher).map_err(|e| FetchError::io(&part, e))?;
        Ok(hasher)
    })
    .await
    .map_err(|e| FetchError::io(cache_root, io::Error::other(e)))?
}

fn remove_if_present(path: &Path) -> Result<(), FetchError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(FetchError::io(path, e)),
    }
}

fn elapsed_nanos(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// A progress line on stderr. A closed stderr (`| head`) must not stop the
/// download, as `eprintln!` would by panicking.
fn note(line: &str) {
    let _ = writeln!(io::stderr(), "{line}");
}

/// Progress on stderr: one aggregate bar (bytes, rate, ETA) on a terminal,
/// plain lines otherwise, nothing when disabled.
struct Progress {
    bar: Option<ProgressBar>,
    lines: bool,
}

impl Progress {
    fn new(enabled: bool, files: usize, total_bytes: u64) -> Progress {
        if !enabled || files == 0 {
            return Progress {
                bar: None,
                lines: false,
            };
        }
        if !io::stderr().is_terminal() {
            note(&format!(
                "fetching {files} files ({})",
                HumanBytes(total_bytes)
            ));
            return Progress {
                bar: None,
                lines: true,
            };
        }
        let bar = ProgressBar::new(total_bytes);
        let style = ProgressStyle::with_template(
            "{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}",
        )
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(format!("fetching {files} files"));
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress {
            bar: Some(bar),
            lines: false,
        }
    }

    fn inc(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    /// Take back bytes that were counted but are being downloaded again.
    fn rewind(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(bar.position().saturating_sub(n));
        }
    }

    fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None if self.lines => note(line),
            None => {}
        }
    }

    fn file_done(&self, item: &FetchItem, len: u64, took: Duration) {
        if self.lines {
            note(&format!(
                "fetched {} ({}) in {:.1}s",
                item.name,
                HumanBytes(len),
                took.as_secs_f64()
            ));
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_start() {
        assert_eq!(range_start(Some("bytes 100-199/200")), Some(100));
        assert_eq!(range_start(Some("bytes */200")), None);
        assert_eq!(range_start(Some("items 1-2/3")), None);
        assert_eq!(range_start(None), None);
    }

    #[test]
    fn transient_errors() {
        let http = |status| FetchError::Http {
            url: "u".into(),
            status,
        };
        assert!(http(503).is_transient());
        assert!(http(429).is_transient());
        assert!(!http(403).is_transient());
        assert!(FetchError::transport("u", "cut").is_transient());
        assert!(!FetchError::NotFound { url: "u".into() }.is_transient());
        assert!(FetchError::NotFound { url: "u".into() }.is_not_found());
    }

    #[test]
    fn file_urls() {
        assert_eq!(file_url_path("http://x/y").unwrap(), None);
        assert_eq!(
            file_url_path("file:///srv/a%20b").unwrap(),
            Some(PathBuf::from("/srv/a b"))
        );
        assert!(file_url_path("file://host/x").is_err());
    }
}
