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

/// Print `message` on stderr and send it to the journal.
pub fn info(message: &str) {
    eprintln!("{message}");
    send(6, message);
}
