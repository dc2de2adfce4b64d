//! Just enough of PostgreSQL's frontend/backend protocol (version 3) to
//! run `SHOW …` on pgBouncer's admin console: a startup message without a
//! password (the console trusts the dbsu by peer authentication on the
//! unix socket), the simple query protocol, text results.
//!
//! What the server sends is outside input: a malformed or hostile stream
//! gives an error, never a panic, and no message may claim more than
//! [`MAX_MESSAGE_BYTES`].

use std::io::{Read, Write};

/// The largest backend message accepted; `SHOW` results are a few KiB.
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;
/// Protocol version 3.0.
const PROTOCOL_3_0: i32 = 3 << 16;

/// A protocol failure, or an error the server reported.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("{0}")]
    Io(String),
    #[error("malformed message from the server: {0}")]
    Malformed(String),
    #[error(
        "the server asks for authentication method {0} (only peer/trust work without a password)"
    )]
    Authentication(i32),
    #[error("the server said: {0}")]
    Server(String),
}

impl From<std::io::Error> for WireError {
    fn from(e: std::io::Error) -> Self {
        WireError::Io(e.to_string())
    }
}

/// One result set: column names and rows of text values (`None`: NULL).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

/// What the server reported at startup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Session {
    /// The `server_version` parameter (pgBouncer's own version).
    pub server_version: Option<String>,
}

/// The startup message for `user` and `database`.
pub fn startup_message(user: &str, database: &str, application: &str) -> Vec<u8> {
    let mut body = PROTOCOL_3_0.to_be_bytes().to_vec();
    for (key, value) in [
        ("user", user),
        ("database", database),
        ("application_name", application),
    ] {
        for s in [key, value] {
            body.extend_from_slice(s.as_bytes());
            body.push(0);
        }
    }
    body.push(0);
    let mut msg = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    msg.extend(body);
    msg
}

/// A simple-protocol `Query` message.
pub fn query_message(sql: &str) -> Vec<u8> {
    let mut msg = vec![b'Q'];
    msg.extend_from_slice(&((sql.len() + 5) as i32).to_be_bytes());
    msg.extend_from_slice(sql.as_bytes());
    msg.push(0);
    msg
}

/// The `Terminate` message.
pub const TERMINATE: [u8; 5] = [b'X', 0, 0, 0, 4];

/// Read one backend message: its type and body.
fn read_message(stream: &mut impl Read) -> Result<(u8, Vec<u8>), WireError> {
    let mut header = [0u8; 5];
    stream.read_exact(&mut header)?;
    let len = i32::from_be_bytes([header[1], header[2], header[3], header[4]]);
    let body_len = usize::try_from(len)
        .ok()
        .and_then(|l| l.checked_sub(4))
        .filter(|&l| l <= MAX_MESSAGE_BYTES)
        .ok_or_else(|| {
            WireError::Malformed(format!(
                "message {:?} claims length {len}",
                char::from(header[0])
            ))
        })?;
    let mut body = Vec::new();
    stream.take(body_len as u64).read_to_end(&mut body)?;
    if body.len() != body_len {
        return Err(WireError::Io(format!(
            "connection closed inside a {:?} message",
            char::from(header[0])
        )));
    }
    Ok((header[0], body))
}

/// A cursor over a message body.
struct Body<'a>(&'a [u8]);

impl Body<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], WireError> {
        if self.0.len() < n {
            return Err(WireError::Malformed(format!(
                "{n} bytes wanted, {} left",
                self.0.len()
            )));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn i16(&mut self) -> Result<i16, WireError> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Result<i32, WireError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn cstr(&mut self) -> Result<String, WireError> {
        let end = self
            .0
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| WireError::Malformed("unterminated string".into()))?;
        let s = String::from_utf8_lossy(&self.0[..end]).into_owned();
        self.0 = &self.0[end + 1..];
        Ok(s)
    }
}

/// The text of an `ErrorResponse`: severity, code and message.
fn error_text(body: &[u8]) -> String {
    let mut b = Body(body);
    let (mut severity, mut code, mut message) = (String::new(), String::new(), String::new());
    while let Ok(field) = b.take(1).map(|f| f[0]) {
        if field == 0 {
            break;
        }
        let Ok(value) = b.cstr() else { break };
        match field {
            b'S' => severity = value,
            b'C' => code = value,
            b'M' => message = value,
            _ => {}
        }
    }
    format!("{severity} {code}: {message}")
}

/// Read the server's answer to the startup message, up to
/// `ReadyForQuery`.
pub fn read_startup(stream: &mut impl Read) -> Result<Session, WireError> {
    let mut session = Session::default();
    loop {
        let (kind, body) = read_message(stream)?;
        match kind {
            b'R' => {
                let code = Body(&body).i32()?;
                if code != 0 {
                    return Err(WireError::Authentication(code));
                }
            }
            b'S' => {
                let mut b = Body(&body);
                let (name, value) = (b.cstr()?, b.cstr()?);
                if name == "server_version" {
                    session.server_version = Some(value);
                }
            }
            b'E' => return Err(WireError::Server(error_text(&body))),
            b'Z' => return Ok(session),
            // BackendKeyData, NoticeResponse and the like.
            _ => {}
        }
    }
}

/// Read the result sets of one simple query, up to `ReadyForQuery`. An
/// `ErrorResponse` becomes the error once the server is ready again.
pub fn read_query_result(stream: &mut impl Read) -> Result<Vec<Table>, WireError> {
    let mut tables: Vec<Table> = Vec::new();
    let mut failed = None;
    loop {
        let (kind, body) = read_message(stream)?;
        let mut b = Body(&body);
        match kind {
            b'T' => {
                let n = b.i16()?;
                let mut columns = Vec::new();
                for _ in 0..n.max(0) {
                    columns.push(b.cstr()?);
                    // table oid, column number, type oid, size, modifier, format
                    b.take(4 + 2 + 4 + 2 + 4 + 2)?;
                }
                tables.push(Table {
                    columns,
                    rows: Vec::new(),
                });
            }
            b'D' => {
                let table = tables.last_mut().ok_or_else(|| {
                    WireError::Malformed("a data row before its description".into())
                })?;
                let n = b.i16()?;
                if usize::try_from(n).ok() != Some(table.columns.len()) {
                    return Err(WireError::Malformed(format!(
                        "a row of {n} values for {} columns",
                        table.columns.len()
                    )));
                }
                let mut row = Vec::with_capacity(table.columns.len());
                for _ in 0..n {
                    let len = b.i32()?;
                    row.push(match usize::try_from(len) {
                        Ok(len) => Some(String::from_utf8_lossy(b.take(len)?).into_owned()),
                        Err(_) if len == -1 => None,
                        Err(_) => {
                            return Err(WireError::Malformed(format!("value length {len}")));
                        }
                    });
                }
                table.rows.push(row);
            }
            b'E' => failed = Some(WireError::Server(error_text(&body))),
            b'Z' => return failed.map_or(Ok(tables), Err),
            // CommandComplete, EmptyQueryResponse, notices.
            _ => {}
        }
    }
}

/// Connect-time and query exchange on an open stream: startup, each of
/// `queries` in turn, terminate. Returns the session and one table per
/// query (the first result set; an empty table when there was none).
pub fn run<S: Read + Write>(
    stream: &mut S,
    user: &str,
    database: &str,
    application: &str,
    queries: &[&str],
) -> Result<(Session, Vec<Table>), WireError> {
    stream.write_all(&startup_message(user, database, application))?;
    let session = read_startup(stream)?;
    let mut results = Vec::with_capacity(queries.len());
    for sql in queries {
        stream.write_all(&query_message(sql))?;
        let table = read_query_result(stream)?
            .into_iter()
            .next()
            .unwrap_or_default();
        results.push(table);
    }
    // The answer is in; a failed goodbye changes nothing.
    let _ = stream.write_all(&TERMINATE);
    Ok((session, results))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    fn row_description(names: &[&str]) -> Vec<u8> {
        let mut body = (names.len() as i16).to_be_bytes().to_vec();
        for n in names {
            body.extend_from_slice(n.as_bytes());
            body.push(0);
            body.extend_from_slice(&[0; 18]);
        }
        msg(b'T', &body)
    }

    fn data_row(values: &[Option<&str>]) -> Vec<u8> {
        let mut body = (values.len() as i16).to_be_bytes().to_vec();
        for v in values {
            match v {
                Some(v) => {
                    body.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    body.extend_from_slice(v.as_bytes());
                }
                None => body.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        msg(b'D', &body)
    }

    #[test]
    fn startup_and_query_messages_have_protocol_layout() {
        let s = startup_message("postgres", "pgbouncer", "t");
        assert_eq!(
            i32::from_be_bytes(s[0..4].try_into().unwrap()) as usize,
            s.len()
        );
        assert_eq!(&s[4..8], &[0, 3, 0, 0]);
        assert!(s.ends_with(b"application_name\0t\0\0"));
        let q = query_message("SHOW STATS");
        assert_eq!(q[0], b'Q');
        assert_eq!(
            i32::from_be_bytes(q[1..5].try_into().unwrap()) as usize,
            q.len() - 1
        );
        assert!(q.ends_with(b"SHOW STATS\0"));
    }

    #[test]
    fn a_whole_exchange_reads_session_and_rows() {
        let mut server = Vec::new();
        server.extend(msg(b'R', &0i32.to_be_bytes()));
        server.extend(msg(b'S', b"server_version\x001.18.0\0"));
        server.extend(msg(b'K', &[0; 8]));
        server.extend(msg(b'Z', b"I"));
        server.extend(row_description(&["database", "total_xact_count"]));
        server.extend(data_row(&[Some("pgbouncer"), Some("3")]));
        server.extend(data_row(&[Some("meta"), None]));
        server.extend(msg(b'C', b"SHOW\0"));
        server.extend(msg(b'Z', b"I"));
        let mut stream = std::io::Cursor::new(server);
        let session = read_startup(&mut stream).unwrap();
        assert_eq!(session.server_version.as_deref(), Some("1.18.0"));
        let tables = read_query_result(&mut stream).unwrap();
        assert_eq!(tables[0].columns, ["database", "total_xact_count"]);
        assert_eq!(
            tables[0].rows,
            [
                vec![Some("pgbouncer".to_string()), Some("3".to_string())],
                vec![Some("meta".to_string()), None]
            ]
        );
    }

    #[test]
    fn password_requests_errors_and_garbage_are_errors() {
        let ask = msg(b'R', &10i32.to_be_bytes());
        assert_eq!(
            read_startup(&mut &ask[..]),
            Err(WireError::Authentication(10))
        );
        let refused = msg(b'E', b"SFATAL\0C28000\0Mno such user\0\0");
        let err = read_startup(&mut &refused[..]).unwrap_err().to_string();
        assert!(err.contains("FATAL 28000: no such user"), "{err}");
        let mut failed = msg(b'E', b"SERROR\0MRecordDone\0\0");
        failed.extend(msg(b'Z', b"I"));
        assert!(matches!(
            read_query_result(&mut &failed[..]),
            Err(WireError::Server(_))
        ));
        // A length below the header's own, one past the limit, a cut stream,
        // a row without a description, a row of the wrong width.
        for bad in [
            vec![b'Z', 0, 0, 0, 3],
            [b'Z']
                .into_iter()
                .chain(((MAX_MESSAGE_BYTES + 5) as i32).to_be_bytes())
                .collect(),
            vec![b'Z', 0, 0, 0, 9, 1],
            data_row(&[Some("x")]),
            [row_description(&["a", "b"]), data_row(&[Some("x")])].concat(),
        ] {
            assert!(read_query_result(&mut &bad[..]).is_err(), "{bad:?}");
        }
    }
}
