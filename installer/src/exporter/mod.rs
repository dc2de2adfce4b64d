//! `pig-install pgbouncer-exporter`: pgBouncer's statistics as Prometheus
//! metrics on `pgbouncer_exporter_port` (9631, where Pigsty serves them).
//!
//! Debian 12's prometheus-pgbouncer-exporter names the columns it reads
//! and fails as soon as pgBouncer renames one (`total_requests` became
//! `total_xact_count` in 1.8). This exporter names none: every numeric
//! column of `SHOW STATS`, `SHOW POOLS`, `SHOW DATABASES` and `SHOW LISTS`
//! becomes a gauge `pgbouncer_<show>_<column>`, labelled by the row's
//! `database`, `user` or `list`, so whatever a pgBouncer version reports is
//! exported. Each scrape opens a fresh admin-console connection over the
//! unix socket, as the dbsu with peer authentication (Pigsty's default
//! pgBouncer HBA), so a restarted pgBouncer needs no restart here;
//! `pgbouncer_up` is 0 while it cannot be reached.

pub mod pgwire;

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use pgwire::{Table, WireError};

/// What each scrape asks, the metric name's middle part, and the columns
/// that label a row rather than measure it (`SHOW DATABASES` calls the
/// database `name`). Numeric columns not listed are measurements, except
/// `ignore`d ones that only describe the configuration's shape.
struct Show {
    sql: &'static str,
    prefix: &'static str,
    labels: &'static [(&'static str, &'static str)],
    ignore: &'static [&'static str],
}

const SHOWS: [Show; 4] = [
    Show {
        sql: "SHOW STATS",
        prefix: "stats",
        labels: &[("database", "database")],
        ignore: &[],
    },
    Show {
        sql: "SHOW POOLS",
        prefix: "pools",
        labels: &[("database", "database"), ("user", "user")],
        ignore: &[],
    },
    Show {
        sql: "SHOW DATABASES",
        prefix: "databases",
        labels: &[("name", "database")],
        ignore: &["port"],
    },
    Show {
        sql: "SHOW LISTS",
        prefix: "lists",
        labels: &[("list", "list")],
        ignore: &[],
    },
];

/// Where the admin console is and who asks.
#[derive(Debug, Clone)]
pub struct Console {
    /// pgBouncer's `unix_socket_dir`.
    pub socket_dir: PathBuf,
    /// pgBouncer's `listen_port` (names the socket file).
    pub port: u16,
    /// An `admin_users` or `stats_users` member that peer auth admits.
    pub user: String,
    /// How long one scrape may take.
    pub timeout: Duration,
}

impl Console {
    fn socket(&self) -> PathBuf {
        self.socket_dir.join(format!(".s.PGSQL.{}", self.port))
    }

    /// Run every [`SHOWS`] query on one connection.
    fn query(&self) -> Result<(pgwire::Session, Vec<Table>), WireError> {
        let socket = self.socket();
        let mut stream = UnixStream::connect(&socket)
            .map_err(|e| WireError::Io(format!("connecting to {}: {e}", socket.display())))?;
        stream.set_read_timeout(Some(self.timeout))?;
        stream.set_write_timeout(Some(self.timeout))?;
        let queries: Vec<&str> = SHOWS.iter().map(|s| s.sql).collect();
        pgwire::run(
            &mut stream,
            &self.user,
            "pgbouncer",
            "pig-pgbouncer-exporter",
            &queries,
        )
    }

    /// One scrape, as Prometheus text, and whether pgBouncer answered;
    /// logs why it did not.
    pub fn scrape(&self) -> (String, bool) {
        let started = Instant::now();
        let result = self.query();
        if let Err(e) = &result {
            eprintln!("pgbouncer-exporter: {}: {e}", self.socket().display());
        }
        (
            render(result.as_ref().ok(), started.elapsed()),
            result.is_ok(),
        )
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', r#"\""#)
        .replace('\n', r"\n")
}

/// A column name as a metric name part: `[a-z0-9_]`, others as `_`.
fn metric_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Prometheus text for one scrape: `pgbouncer_up`, the version, every
/// numeric column of every `SHOW`, and how long the scrape took.
pub fn render(result: Option<&(pgwire::Session, Vec<Table>)>, took: Duration) -> String {
    let mut out = String::new();
    let up = u8::from(result.is_some());
    let _ = writeln!(
        out,
        "# HELP pgbouncer_up Whether pgBouncer's admin console answered.\n\
         # TYPE pgbouncer_up gauge\npgbouncer_up {up}"
    );
    if let Some((session, tables)) = result {
        if let Some(version) = &session.server_version {
            let _ = writeln!(
                out,
                "# HELP pgbouncer_version_info pgBouncer's version.\n\
                 # TYPE pgbouncer_version_info gauge\n\
                 pgbouncer_version_info{{version=\"{}\"}} 1",
                escape(version)
            );
        }
        for (show, table) in SHOWS.iter().zip(tables) {
            render_table(show, table, &mut out);
        }
    }
    let _ = writeln!(
        out,
        "# HELP pgbouncer_scrape_duration_seconds How long the scrape took.\n\
         # TYPE pgbouncer_scrape_duration_seconds gauge\n\
         pgbouncer_scrape_duration_seconds {:.6}",
        took.as_secs_f64()
    );
    out
}

fn render_table(show: &Show, table: &Table, out: &mut String) {
    let label_at: Vec<(usize, &str)> = show
        .labels
        .iter()
        .filter_map(|(column, label)| {
            let at = table.columns.iter().position(|c| c == column)?;
            Some((at, *label))
        })
        .collect();
    for (i, column) in table.columns.iter().enumerate() {
        if label_at.iter().any(|&(at, _)| at == i) || show.ignore.contains(&column.as_str()) {
            continue;
        }
        // A measurement: a number in every row that has a value.
        let values: Vec<(usize, f64)> = table
            .rows
            .iter()
            .enumerate()
            .filter_map(|(r, row)| Some((r, row.get(i)?.as_deref()?)))
            .map(|(r, v)| v.trim().parse::<f64>().map(|n| (r, n)))
            .collect::<Result<_, _>>()
            .unwrap_or_default();
        if values.is_empty() {
            continue;
        }
        let name = format!("pgbouncer_{}_{}", show.prefix, metric_part(column));
        // HELP text escapes only backslashes and newlines.
        let help = column.replace('\\', r"\\").replace('\n', r"\n");
        let _ = writeln!(
            out,
            "# HELP {name} pgBouncer {} column {help}.\n# TYPE {name} gauge",
            show.sql
        );
        for (r, value) in values {
            let labels: Vec<String> = label_at
                .iter()
                .map(|&(at, label)| {
                    let v = table.rows[r].get(at).cloned().flatten().unwrap_or_default();
                    format!("{label}=\"{}\"", escape(&v))
                })
                .collect();
            if labels.is_empty() {
                let _ = writeln!(out, "{name} {value}");
            } else {
                let _ = writeln!(out, "{name}{{{}}} {value}", labels.join(","));
            }
        }
    }
}

/// An HTTP response with `body`.
fn respond(stream: &mut TcpStream, status: &str, content_type: &str, body: &str) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    // A client that went away is its own problem.
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body.as_bytes()));
}

/// The request line's method and path. Reads the headers too (at most
/// 8 KiB in all), so that closing the connection does not reset it under
/// a request the client is still sending.
fn request_line(stream: &TcpStream) -> Option<(String, String)> {
    let mut reader = BufReader::new(std::io::Read::take(stream, 8 << 10));
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut header = String::new();
    while reader.read_line(&mut header).is_ok_and(|n| n > 0) && header.trim_end() != "" {
        header.clear();
    }
    let mut words = line.split_whitespace();
    Some((words.next()?.to_string(), words.next()?.to_string()))
}

/// Answer one HTTP connection: `GET /metrics` scrapes.
fn serve_one(mut stream: TcpStream, console: &Console) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    match request_line(&stream) {
        Some((method, path)) if method == "GET" && path == "/metrics" => {
            let (body, _) = console.scrape();
            respond(
                &mut stream,
                "200 OK",
                "text/plain; version=0.0.4; charset=utf-8",
                &body,
            );
        }
        Some((method, path)) if method == "GET" && path == "/" => respond(
            &mut stream,
            "200 OK",
            "text/html",
            "<html><head><title>pgBouncer exporter</title></head><body>\
             <h1>pgBouncer exporter (pig-install)</h1><p><a href=\"/metrics\">Metrics</a></p>\
             </body></html>\n",
        ),
        Some((method, _)) if method != "GET" => {
            respond(
                &mut stream,
                "405 Method Not Allowed",
                "text/plain",
                "GET only\n",
            );
        }
        _ => respond(&mut stream, "404 Not Found", "text/plain", "see /metrics\n"),
    }
}

/// Serve `/metrics` on `listen` until killed, each connection on a thread
/// of its own.
pub fn serve(listen: SocketAddr, console: &Console) -> Result<()> {
    let listener = TcpListener::bind(listen).with_context(|| format!("listening on {listen}"))?;
    eprintln!(
        "pgbouncer-exporter: serving http://{listen}/metrics from {}",
        console.socket().display()
    );
    for stream in listener.incoming() {
        match stream {
            // A slow client holds up only its own thread.
            Ok(stream) => {
                let console = console.clone();
                std::thread::spawn(move || serve_one(stream, &console));
            }
            Err(e) => eprintln!("pgbouncer-exporter: accepting a connection: {e}"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(columns: &[&str], rows: &[&[Option<&str>]]) -> Table {
        Table {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: rows
                .iter()
                .map(|r| r.iter().map(|v| v.map(str::to_string)).collect())
                .collect(),
        }
    }

    #[test]
    fn numeric_columns_become_gauges_labelled_by_their_row() {
        let session = pgwire::Session {
            server_version: Some("PgBouncer 1.18.0".into()),
        };
        let tables = vec![
            table(
                &["database", "total_xact_count", "avg_wait_time"],
                &[
                    &[Some("meta"), Some("12"), Some("0")],
                    &[Some("pg\"x"), Some("3"), None],
                ],
            ),
            table(
                &["database", "user", "cl_active", "pool_mode"],
                &[&[
                    Some("meta"),
                    Some("dbuser_meta"),
                    Some("1"),
                    Some("transaction"),
                ]],
            ),
            table(
                &["name", "host", "port", "pool_size"],
                &[&[
                    Some("meta"),
                    Some("/var/run/postgresql"),
                    Some("5432"),
                    Some("64"),
                ]],
            ),
            table(&["list", "items"], &[&[Some("databases"), Some("2")]]),
        ];
        let text = render(Some(&(session, tables)), Duration::from_millis(3));
        for line in [
            "pgbouncer_up 1",
            "pgbouncer_version_info{version=\"PgBouncer 1.18.0\"} 1",
            "pgbouncer_stats_total_xact_count{database=\"meta\"} 12",
            "pgbouncer_stats_total_xact_count{database=\"pg\\\"x\"} 3",
            "pgbouncer_stats_avg_wait_time{database=\"meta\"} 0",
            "pgbouncer_pools_cl_active{database=\"meta\",user=\"dbuser_meta\"} 1",
            "pgbouncer_databases_pool_size{database=\"meta\"} 64",
            "pgbouncer_lists_items{list=\"databases\"} 2",
            "# TYPE pgbouncer_pools_cl_active gauge",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
        }
        // Text columns and the ignored port are not measurements.
        for absent in ["pool_mode", "databases_host", "databases_port"] {
            assert!(!text.contains(absent), "{absent} in:\n{text}");
        }
        assert!(text.contains("\npgbouncer_scrape_duration_seconds 0.003"));
    }

    #[test]
    fn an_unreachable_pgbouncer_is_up_zero() {
        let text = render(None, Duration::ZERO);
        assert!(text.contains("\npgbouncer_up 0\n"), "{text}");
        assert!(!text.contains("pgbouncer_stats"), "{text}");
        let console = Console {
            socket_dir: PathBuf::from("/nonexistent"),
            port: 6432,
            user: "postgres".into(),
            timeout: Duration::from_secs(1),
        };
        let (text, up) = console.scrape();
        assert!(!up && text.contains("\npgbouncer_up 0\n"), "{text}");
    }

    #[test]
    fn metric_names_labels_and_help_are_sanitised() {
        assert_eq!(metric_part("Total-Xact Count"), "total_xact_count");
        let odd = table(&["list", "a\nb"], &[&[Some("x"), Some("1")]]);
        let mut text = String::new();
        render_table(&SHOWS[3], &odd, &mut text);
        assert!(
            text.starts_with("# HELP pgbouncer_lists_a_b pgBouncer SHOW LISTS column a\\nb.\n"),
            "{text}"
        );
        assert!(
            text.contains("\npgbouncer_lists_a_b{list=\"x\"} 1\n"),
            "{text}"
        );
        assert_eq!(escape("a\\b\"c\nd"), r#"a\\b\"c\nd"#);
    }
}
