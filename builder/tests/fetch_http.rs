//! Fetcher and mirror discovery against a loopback HTTP/1.1 server that this
//! file runs itself. The server can fail requests with 503, cut a body in
//! the middle, ignore `Range`, answer with a fixed status or serve the wrong
//! bytes, and it counts what it did so the tests can check the client.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pig_build::cache::Cache;
use pig_build::fetch::{FetchError, FetchItem, FetchOptions, Fetcher};
use pig_build::mirror::Mirrors;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the server answers for one path.
#[derive(Clone, Default)]
struct Resource {
    body: Arc<Vec<u8>>,
    /// Answer this many requests with 503 first.
    fail_503: u32,
    /// Cut the body after half of it in this many responses.
    cut: u32,
    /// Stop sending after half of the body in this many responses, and hold
    /// the connection open for a while (a stalled transfer).
    stall: u32,
    /// Answer `Range` requests with the whole file (200).
    ignore_range: bool,
    /// Always answer with this status and no body.
    status: Option<u16>,
    /// Wait this long before answering, so concurrent requests overlap.
    delay: Duration,
}

#[derive(Default)]
struct ServerState {
    resources: Mutex<HashMap<String, Resource>>,
    active: AtomicUsize,
    max_active: AtomicUsize,
    requests: AtomicUsize,
    body_bytes: AtomicU64,
    /// (path, first byte) of every request that carried `Range`.
    ranges: Mutex<Vec<(String, u64)>>,
}

struct Server {
    addr: SocketAddr,
    state: Arc<ServerState>,
}

impl Server {
    async fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(ServerState::default());
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone()));
            }
        });
        Server { addr, state }
    }

    fn add(&self, path: &str, resource: Resource) -> String {
        let mut map = self.state.resources.lock().unwrap();
        map.insert(path.to_string(), resource);
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    fn body_bytes(&self) -> u64 {
        self.state.body_bytes.load(Ordering::SeqCst)
    }

    fn ranges(&self) -> Vec<(String, u64)> {
        self.state.ranges.lock().unwrap().clone()
    }
}

/// Decrements the in-flight count however the handler ends.
struct Active<'a>(&'a ServerState);

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn serve(mut stream: TcpStream, state: Arc<ServerState>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 64 * 1024 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let range_start = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        if !name.eq_ignore_ascii_case("range") {
            return None;
        }
        value
            .trim()
            .strip_prefix("bytes=")?
            .strip_suffix('-')?
            .parse::<u64>()
            .ok()
    });

    state.requests.fetch_add(1, Ordering::SeqCst);
    let now = state.active.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_active.fetch_max(now, Ordering::SeqCst);
    let _active = Active(&state);
    if let Some(start) = range_start {
        state.ranges.lock().unwrap().push((path.clone(), start));
    }

    // Take this request's share of the one-shot failures under the lock.
    let (resource, fail, cut, stall) = {
        let mut map = state.resources.lock().unwrap();
        match map.get_mut(&path) {
            None => (None, false, false, false),
            Some(r) => {
                let fail = r.fail_503 > 0;
                if fail {
                    r.fail_503 -= 1;
                }
                let cut = !fail && r.cut > 0;
                if cut {
                    r.cut -= 1;
                }
                let stall = !fail && !cut && r.stall > 0;
                if stall {
                    r.stall -= 1;
                }
                (Some(r.clone()), fail, cut, stall)
            }
        }
    };
    let Some(resource) = resource else {
        let _ = respond_empty(&mut stream, 404, "Not Found").await;
        return;
    };
    tokio::time::sleep(resource.delay).await;
    if let Some(status) = resource.status {
        let _ = respond_empty(&mut stream, status, "Fixed").await;
        return;
    }
    if fail {
        let _ = respond_empty(&mut stream, 503, "Service Unavailable").await;
        return;
    }

    let body = &resource.body[..];
    let len = body.len() as u64;
    let (status, from) = match range_start {
        Some(start) if !resource.ignore_range && start < len => (206, start),
        Some(start) if !resource.ignore_range && start >= len => {
            let _ = respond_empty(&mut stream, 416, "Range Not Satisfiable").await;
            return;
        }
        _ => (200, 0),
    };
    let rest = &body[from as usize..];
    let mut header = format!(
        "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        if status == 206 {
            "Partial Content"
        } else {
            "OK"
        },
        rest.len()
    );
    if status == 206 {
        header.push_str(&format!(
            "Content-Range: bytes {from}-{}/{len}\r\n",
            len - 1
        ));
    }
    header.push_str("\r\n");
    if stream.write_all(header.as_bytes()).await.is_err() {
        return;
    }
    let send = if cut || stall {
        &rest[..rest.len() / 2]
    } else {
        rest
    };
    for chunk in send.chunks(64 * 1024) {
        if stream.write_all(chunk).await.is_err() {
            return;
        }
        state
            .body_bytes
            .fetch_add(chunk.len() as u64, Ordering::SeqCst);
    }
    let _ = stream.flush().await;
    if stall {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let _ = stream.shutdown().await;
}

async fn respond_empty(stream: &mut TcpStream, status: u16, reason: &str) -> std::io::Result<()> {
    let text =
        format!("HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    stream.write_all(text.as_bytes()).await?;
    stream.shutdown().await
}

/// Deterministic bytes that differ per `seed`, so each file has its own digest.
fn data(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 56) as u8
        })
        .collect()
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn item(url: &str, body: &[u8]) -> FetchItem {
    FetchItem {
        url: url.to_string(),
        name: url.rsplit('/').next().unwrap_or(url).to_string(),
        size: Some(body.len() as u64),
        sha256: Some(sha256(body)),
    }
}

fn options(concurrency: usize, retries: u32) -> FetchOptions {
    FetchOptions {
        concurrency,
        retries,
        progress: false,
        timeout: Duration::from_secs(10),
    }
}

fn fetcher(dir: &Path, concurrency: usize, retries: u32) -> Fetcher {
    let cache = Cache::open(dir.join("cache")).unwrap();
    Fetcher::new(cache, options(concurrency, retries)).unwrap()
}

/// Files under the cache's content store and temp dir.
fn cache_files(dir: &Path) -> Vec<std::path::PathBuf> {
    walkdir::WalkDir::new(dir.join("cache"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect()
}

fn fetch_error(err: &anyhow::Error) -> &FetchError {
    err.downcast_ref::<FetchError>()
        .unwrap_or_else(|| panic!("not a FetchError: {err:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_concurrently_within_the_bound_and_verifies() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let bodies: Vec<Vec<u8>> = (0..16).map(|i| data(i, 64 * 1024 + i as usize)).collect();
    let items: Vec<FetchItem> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let resource = Resource {
                body: Arc::new(body.clone()),
                delay: Duration::from_millis(100),
                ..Resource::default()
            };
            item(&server.add(&format!("/pool/f{i}.deb"), resource), body)
        })
        .collect();
    let fetcher = fetcher(dir.path(), 4, 0);
    let fetched = fetcher.fetch_all(items.clone()).await.unwrap();

    assert_eq!(fetched.len(), 16);
    for ((f, body), it) in fetched.iter().zip(&bodies).zip(&items) {
        assert_eq!(&f.item, it, "results keep the input order");
        assert!(!f.from_cache);
        assert_eq!(f.bytes, body.len() as u64);
        assert_eq!(&std::fs::read(&f.path).unwrap(), body);
        assert!(
            f.path
                .ends_with(format!("sha256/{}/{}", &sha256(body)[..2], sha256(body)))
        );
    }
    let max = server.state.max_active.load(Ordering::SeqCst);
    println!("concurrency bound 4: server saw at most {max} requests at once");
    assert!(max <= 4, "{max} requests in flight with concurrency 4");
    assert!(max >= 2, "downloads did not overlap (max {max})");
    let summary = fetcher.summary();
    assert_eq!(
        (summary.files, summary.downloaded, summary.from_cache),
        (16, 16, 0)
    );
    assert_eq!(
        summary.bytes_downloaded,
        bodies.iter().map(|b| b.len() as u64).sum::<u64>()
    );
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["files"], 16);
    assert!(
        cache_files(dir.path())
            .iter()
            .all(|p| !p.to_string_lossy().ends_with(".part"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_fetch_downloads_nothing() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let body = data(7, 300_000);
    let url = server.add(
        "/a.deb",
        Resource {
            body: Arc::new(body.clone()),
            ..Resource::default()
        },
    );
    // The same content listed twice (two names, one digest) is fetched once.
    let twice = vec![
        item(&url, &body),
        FetchItem {
            name: "again".into(),
            ..item(&url, &body)
        },
    ];

    let first = fetcher(dir.path(), 4, 0)
        .fetch_all(twice.clone())
        .await
        .unwrap();
    assert_eq!(server.requests(), 1);
    assert_eq!(first[0].path, first[1].path);

    let again = fetcher(dir.path(), 4, 0);
    let second = again.fetch_all(twice).await.unwrap();
    assert_eq!(server.requests(), 1, "a cached file was requested again");
    assert!(second.iter().all(|f| f.from_cache));
    assert_eq!(second[0].path, first[0].path);
    let summary = again.summary();
    assert_eq!(
        (
            summary.from_cache,
            summary.downloaded,
            summary.bytes_downloaded
        ),
        (2, 0, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_after_503() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let body = data(1, 10_000);
    let resource = Resource {
        body: Arc::new(body.clone()),
        fail_503: 2,
        ..Resource::default()
    };
    let url = server.add("/busy.deb", resource);
    let fetcher = fetcher(dir.path(), 2, 3);
    let fetched = fetcher.fetch_all(vec![item(&url, &body)]).await.unwrap();
    assert_eq!(std::fs::read(&fetched[0].path).unwrap(), body);
    assert_eq!(server.requests(), 3);
    assert_eq!(fetcher.summary().retries, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_bounded() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let body = data(2, 100);
    let resource = Resource {
        body: Arc::new(body.clone()),
        fail_503: 1000,
        ..Resource::default()
    };
    let url = server.add("/down.deb", resource);
    let err = fetcher(dir.path(), 2, 2)
        .fetch_all(vec![item(&url, &body)])
        .await
        .unwrap_err();
    assert!(
        matches!(fetch_error(&err), FetchError::Http { status: 503, .. }),
        "{err:#}"
    );
    assert_eq!(server.requests(), 3, "one try and two retries");
    assert!(
        format!("{err:#}").contains("1 of 1 files could not be fetched: down.deb"),
        "{err:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_server_stops_the_batch() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let items: Vec<FetchItem> = (0..10)
        .map(|i| {
            let body = data(200 + i, 100);
            let resource = Resource {
                body: Arc::new(body.clone()),
                fail_503: 1000,
                ..Resource::default()
            };
            item(&server.add(&format!("/dead/{i}.deb"), resource), &body)
        })
        .collect();
    let err = fetcher(dir.path(), 1, 1)
        .fetch_all(items)
        .await
        .unwrap_err();
    let message = format!("{err:#}");
    assert!(
        message.contains("1 of 10 files could not be fetched: 0.deb; 9 more not tried"),
        "{message}"
    );
    assert_eq!(server.requests(), 2, "one file, tried twice, then stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_body_is_resumed_with_range() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let size = 1 << 20;
    let body = data(3, size);
    let resource = Resource {
        body: Arc::new(body.clone()),
        cut: 1,
        ..Resource::default()
    };
    let url = server.add("/cut.deb", resource);
    let fetcher = fetcher(dir.path(), 2, 3);
    let fetched = fetcher.fetch_all(vec![item(&url, &body)]).await.unwrap();
    assert_eq!(std::fs::read(&fetched[0].path).unwrap(), body);

    let ranges = server.ranges();
    let sent = server.body_bytes();
    println!("cut 1 MiB body: ranges requested {ranges:?}, {sent} body bytes sent");
    assert_eq!(ranges.len(), 1, "{ranges:?}");
    assert!(ranges[0].1 > 0, "resumed from byte {}", ranges[0].1);
    assert!(
        sent < 2 * size as u64,
        "{sent} bytes sent for a {size}-byte file"
    );
    assert_eq!(sent, size as u64, "every byte sent exactly once");
    assert_eq!(fetcher.summary().retries, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_transfer_times_out_and_resumes() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let body = data(12, 400_000);
    let resource = Resource {
        body: Arc::new(body.clone()),
        stall: 1,
        ..Resource::default()
    };
    let url = server.add("/slow.deb", resource);
    let cache = Cache::open(dir.path().join("cache")).unwrap();
    let opts = FetchOptions {
        timeout: Duration::from_millis(300),
        ..options(1, 2)
    };
    let fetcher = Fetcher::new(cache, opts).unwrap();
    let started = Instant::now();
    let fetched = fetcher.fetch_all(vec![item(&url, &body)]).await.unwrap();
    let took = started.elapsed();
    assert_eq!(std::fs::read(&fetched[0].path).unwrap(), body);
    assert_eq!(server.ranges(), [("/slow.deb".to_string(), 200_000)]);
    assert_eq!(fetcher.summary().retries, 1);
    assert!(
        took < Duration::from_secs(3),
        "gave up on the stall after {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_ignoring_range_restarts_cleanly() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let body = data(4, 200_000);
    let resource = Resource {
        body: Arc::new(body.clone()),
        cut: 1,
        ignore_range: true,
        ..Resource::default()
    };
    let url = server.add("/norange.deb", resource);
    let fetched = fetcher(dir.path(), 2, 3)
        .fetch_all(vec![item(&url, &body)])
        .await
        .unwrap();
    assert_eq!(std::fs::read(&fetched[0].path).unwrap(), body);
    assert_eq!(server.ranges().len(), 1, "the client asked to resume");
    assert_eq!(server.body_bytes(), 300_000, "half, then the whole file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_a_part_left_by_an_earlier_run() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let body = data(5, 500_000);
    let url = server.add(
        "/left.deb",
        Resource {
            body: Arc::new(body.clone()),
            ..Resource::default()
        },
    );
    let cache = Cache::open(dir.path().join("cache")).unwrap();
    std::fs::write(cache.temp_path(&sha256(&body)), &body[..123_456]).unwrap();

    let fetched = fetcher(dir.path(), 2, 0)
        .fetch_all(vec![item(&url, &body)])
        .await
        .unwrap();
    assert_eq!(std::fs::read(&fetched[0].path).unwrap(), body);
    assert_eq!(server.ranges(), [("/left.deb".to_string(), 123_456)]);
    assert_eq!(server.body_bytes(), 500_000 - 123_456);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_found_and_forbidden_fail_at_once() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let body = data(6, 10);
    let missing = format!("http://{}/missing.deb", server.addr);
    let forbidden = server.add(
        "/secret.deb",
        Resource {
            status: Some(403),
            ..Resource::default()
        },
    );
    let fetcher = fetcher(dir.path(), 2, 5);

    let started = Instant::now();
    let err = fetcher
        .fetch_all(vec![item(&missing, &body)])
        .await
        .unwrap_err();
    let e = fetch_error(&err);
    assert!(e.is_not_found(), "{err:#}");
    assert!(matches!(e, FetchError::NotFound { url } if *url == missing));
    assert_eq!(server.requests(), 1, "a 404 is not retried");

    let err = fetcher
        .fetch_all(vec![item(&forbidden, &body)])
        .await
        .unwrap_err();
    assert!(
        matches!(fetch_error(&err), FetchError::Http { status: 403, .. }),
        "{err:#}"
    );
    assert_eq!(server.requests(), 2, "a 403 is not retried");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no backoff was waited"
    );
    assert_eq!(fetcher.summary().retries, 0);
    assert!(cache_files(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_content_fails_and_leaves_nothing_in_the_cache() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let good = data(8, 50_000);
    let bad = data(9, 50_000);
    let url = server.add(
        "/evil.deb",
        Resource {
            body: Arc::new(bad.clone()),
            ..Resource::default()
        },
    );
    let fetcher = fetcher(dir.path(), 2, 5);

    let err = fetcher
        .fetch_all(vec![item(&url, &good)])
        .await
        .unwrap_err();
    match fetch_error(&err) {
        FetchError::Hash {
            url: u,
            expected,
            actual,
        } => {
            assert_eq!(u, &url);
            assert_eq!(expected, &sha256(&good));
            assert_eq!(actual, &sha256(&bad));
        }
        other => panic!("expected a hash mismatch, got {other}"),
    }
    let message = format!("{err:#}");
    assert!(
        message.contains(&url)
            && message.contains(&sha256(&good))
            && message.contains(&sha256(&bad))
    );
    assert_eq!(server.requests(), 1, "a wrong digest is not retried");
    assert!(
        cache_files(dir.path()).is_empty(),
        "{:?}",
        cache_files(dir.path())
    );

    // A declared size the server does not match is an error too, and the
    // download stops as soon as the body runs past it.
    let short = FetchItem {
        size: Some(1000),
        ..item(&url, &good)
    };
    let err = fetcher.fetch_all(vec![short]).await.unwrap_err();
    assert!(
        matches!(fetch_error(&err), FetchError::Size { expected: 1000, .. }),
        "{err:#}"
    );
    assert!(cache_files(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_urls_are_copied_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let body = data(10, 70_000);
    let src = dir.path().join("bundle dir/pkg.deb");
    std::fs::create_dir_all(src.parent().unwrap()).unwrap();
    std::fs::write(&src, &body).unwrap();
    let url = reqwest::Url::from_file_path(&src).unwrap().to_string();
    let fetcher = fetcher(dir.path(), 2, 1);

    let fetched = fetcher.fetch_all(vec![item(&url, &body)]).await.unwrap();
    assert_eq!(std::fs::read(&fetched[0].path).unwrap(), body);
    assert_eq!(fetcher.fetch_bytes(&url).await.unwrap(), body);

    let wrong = FetchItem {
        sha256: Some(sha256(b"other")),
        ..item(&url, &body)
    };
    assert!(matches!(
        fetch_error(&fetcher.fetch_all(vec![wrong]).await.unwrap_err()),
        FetchError::Hash { .. }
    ));
    // Content not yet cached, so the missing source is looked at.
    let gone = url.replace("pkg.deb", "gone.deb");
    let err = fetcher
        .fetch_all(vec![item(&gone, &data(11, 10))])
        .await
        .unwrap_err();
    assert!(fetch_error(&err).is_not_found(), "{err:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_bytes_reads_small_files_with_retries() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let index = b"Package: x\nVersion: 1\n".to_vec();
    let url = server.add(
        "/dists/Release",
        Resource {
            body: Arc::new(index.clone()),
            fail_503: 1,
            ..Resource::default()
        },
    );
    let fetcher = fetcher(dir.path(), 2, 2);
    assert_eq!(fetcher.fetch_bytes(&url).await.unwrap(), index);
    assert_eq!(fetcher.summary().retries, 1);
    let err = fetcher
        .fetch_bytes(&format!("http://{}/dists/InRelease", server.addr))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(
        cache_files(dir.path()).is_empty(),
        "index fetches bypass the cache"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_is_transient_and_named() {
    // Bind, learn the port, close: nothing listens there any more.
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fetcher = fetcher(dir.path(), 1, 1);
    let url = format!("http://{addr}/x.deb");
    let err = fetcher.fetch_bytes(&url).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    let message = err.to_string();
    assert!(
        message.starts_with(&url) && message.to_lowercase().contains("refused"),
        "{message}"
    );
    assert_eq!(fetcher.summary().retries, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throughput_64_files_of_1_mib() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let items: Vec<FetchItem> = (0..64)
        .map(|i| {
            let body = data(100 + i, 1 << 20);
            let it = item(&format!("http://{}/big/{i}.deb", server.addr), &body);
            server.add(
                &format!("/big/{i}.deb"),
                Resource {
                    body: Arc::new(body),
                    ..Resource::default()
                },
            );
            it
        })
        .collect();
    let fetcher = fetcher(dir.path(), 8, 0);
    let started = Instant::now();
    let fetched = fetcher.fetch_all(items.clone()).await.unwrap();
    let took = started.elapsed().as_secs_f64();
    assert_eq!(fetched.len(), 64);
    let cached_started = Instant::now();
    let again = fetcher.fetch_all(items).await.unwrap();
    let cached_took = cached_started.elapsed().as_secs_f64();
    assert!(again.iter().all(|f| f.from_cache));
    println!(
        "64 x 1 MiB over loopback, concurrency 8: {took:.2} s, {:.0} MiB/s (fetch, sha256, cache insert); \
         again from cache: {:.1} ms",
        64.0 / took,
        cached_took * 1000.0
    );
    println!(
        "summary: {}",
        serde_json::to_string(&fetcher.summary()).unwrap()
    );
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn mirrors_from_one_line_and_deb822_sources() {
    // One-line sources.list for the release, deb822 for security.
    let one = tempfile::tempdir().unwrap();
    write(
        one.path(),
        "etc/os-release",
        "ID=debian\nVERSION_CODENAME=trixie\n",
    );
    write(
        one.path(),
        "etc/apt/sources.list",
        "# made by the test\n\
         deb cdrom:[Debian_13]/ trixie main\n\
         deb http://127.0.0.1:9/bp trixie-backports main\n\
         deb-src http://127.0.0.1:9/src trixie main\n\
         deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://127.0.0.1:9/debian/ trixie main contrib\n\
         deb http://127.0.0.1:9/second trixie main\n",
    );
    write(
        one.path(),
        "etc/apt/sources.list.d/security.sources",
        "Types: deb\n# a comment\nURIs: http://security.example.invalid/debian-security\n\
         Suites: trixie-security\nComponents: main\n",
    );
    write(
        one.path(),
        "etc/apt/sources.list.d/old.list.disabled",
        "deb http://old.example.invalid/x trixie-security main\n",
    );
    let m = Mirrors::from_host(one.path()).unwrap();
    assert_eq!(m.get("debian"), Some("http://127.0.0.1:9/debian"));
    assert_eq!(
        m.get("debian-security"),
        Some("http://security.example.invalid/debian-security")
    );
    assert_eq!(
        m.origin("debian").unwrap().to_string(),
        format!("{}:5", one.path().join("etc/apt/sources.list").display())
    );
    assert_eq!(m.iter().count(), 2);

    // deb822 only, several suites per stanza, no os-release: the codename is
    // the first plain suite with `main`.
    let two = tempfile::tempdir().unwrap();
    write(
        two.path(),
        "etc/apt/sources.list.d/debian.sources",
        "Types: deb\nURIs: http://a.example.invalid/debian\nSuites: bookworm bookworm-updates\n\
         Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n\
         Types: deb\nURIs: http://a.example.invalid/debian-security\nSuites: bookworm-security\nComponents: main\n",
    );
    let m = Mirrors::from_host(two.path()).unwrap();
    assert_eq!(m.get("debian"), Some("http://a.example.invalid/debian"));
    assert_eq!(
        m.get("debian-security"),
        Some("http://a.example.invalid/debian-security")
    );

    // apt's `file:/path` form becomes a file:// URL.
    let local = tempfile::tempdir().unwrap();
    write(
        local.path(),
        "etc/apt/sources.list",
        "deb [trusted=yes] file:/srv/local-repo/ bookworm main\n",
    );
    let m = Mirrors::from_host(local.path()).unwrap();
    assert_eq!(m.get("debian"), Some("file:///srv/local-repo"));

    // No apt sources at all is not an error: flags and env can still say.
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(Mirrors::from_host(empty.path()).unwrap().iter().count(), 0);

    // A broken source file is named with its line.
    write(
        empty.path(),
        "etc/apt/sources.list.d/bad.list",
        "deb http://x.example.invalid/d trixie main\ndeb\n",
    );
    let err = format!("{:#}", Mirrors::from_host(empty.path()).unwrap_err());
    assert!(err.contains("bad.list:2"), "{err}");
}

#[test]
fn mirror_precedence_flag_then_env_then_host() {
    let root = tempfile::tempdir().unwrap();
    write(
        root.path(),
        "etc/os-release",
        "VERSION_CODENAME=\"trixie\"\n",
    );
    write(
        root.path(),
        "etc/apt/sources.list",
        "deb http://127.0.0.1:9/host-debian trixie main\ndeb http://127.0.0.1:9/host-security trixie-security main\n",
    );
    let flags = vec!["debian=http://127.0.0.1:7/flag-debian/".to_string()];
    let vars = env(&[
        ("PIG_MIRROR_DEBIAN", "http://127.0.0.1:8/env-debian"),
        (
            "PIG_MIRROR_DEBIAN_SECURITY",
            "http://127.0.0.1:8/env-security",
        ),
        ("PIG_MIRROR_PGDG", "http://127.0.0.1:8/pgdg"),
        ("PIG_MIRROR_GRAFANA", ""),
        ("PATH", "/usr/bin"),
    ]);
    let m = Mirrors::discover(&flags, vars, root.path()).unwrap();
    assert_eq!(m.get("debian"), Some("http://127.0.0.1:7/flag-debian"));
    assert_eq!(
        m.get("debian-security"),
        Some("http://127.0.0.1:8/env-security")
    );
    assert_eq!(m.get("pgdg"), Some("http://127.0.0.1:8/pgdg"));
    assert_eq!(m.get("grafana"), None, "an empty variable is unset");
    assert_eq!(
        m.origin("debian-security").unwrap().to_string(),
        "$PIG_MIRROR_DEBIAN_SECURITY"
    );
    assert_eq!(
        m.expand("${mirror.debian}/dists/trixie/InRelease").unwrap(),
        "http://127.0.0.1:7/flag-debian/dists/trixie/InRelease"
    );

    let host_only = Mirrors::discover(&[], env(&[]), root.path()).unwrap();
    assert_eq!(
        host_only.get("debian-security"),
        Some("http://127.0.0.1:9/host-security")
    );

    let err = m.expand("${mirror.grafana}/rpm").unwrap_err().to_string();
    assert!(
        err.contains("`grafana`")
            && err.contains("--mirror grafana=URL")
            && err.contains("PIG_MIRROR_GRAFANA"),
        "{err}"
    );

    for bad in [
        "debian",
        "debian=",
        "=http://127.0.0.1:1/x",
        "debian=127.0.0.1/x",
        "deb ian=http://x.example.invalid",
    ] {
        let err = Mirrors::discover(&[bad.to_string()], env(&[]), root.path()).unwrap_err();
        assert!(format!("{err:#}").contains("--mirror"), "{bad}: {err:#}");
    }
    let err = Mirrors::discover(
        &[],
        env(&[("PIG_MIRROR_PGDG", "mirror.example.invalid/pgdg")]),
        root.path(),
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("PIG_MIRROR_PGDG"), "{err:#}");
}
