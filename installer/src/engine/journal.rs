//! Log lines to the systemd journal (native protocol) besides the console.
//! A node without journald still gets the console output; failing to
//! reach the journal never fails an apply.

use std::os::unix::net::UnixDatagram;

const SOCKET: &str = "/run/systemd/journal/socket";

/// Send `message` to the journal as `pig-install` with syslog `priority`
/// (6 info, 3 error).
pub fn send(priority: u8, message: &str) {
    let Ok(socket) = UnixDatagram::unbound() else {
        return;
    };
    // Newlines would end the field: the native protocol's plain form
    // takes one line per field.
    let text = message.replace('\n', " ");
    let entry = format!("SYSLOG_IDENTIFIER=pig-install\nPRIORITY={priority}\nMESSAGE={text}\n");
    let _ = socket.send_to(entry.as_bytes(), SOCKET);
}

/// Print `message` on stderr and send it to the journal (unless stderr
/// is the journal already, as under a systemd unit: once is enough).
pub fn info(message: &str) {
    eprintln!("{message}");
    if !stderr_is_journal() {
        send(6, message);
    }
}

/// Whether stderr is the journal stream systemd gave this process: the
/// `$JOURNAL_STREAM` ("DEV:INODE") check systemd.exec(5) recommends.
pub fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(stream) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(meta) = std::fs::metadata("/proc/self/fd/2") else {
        return false;
    };
    stream == format!("{}:{}", meta.dev(), meta.ino())
}
