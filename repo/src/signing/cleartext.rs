//! The cleartext signature framework (RFC 9580 §7) as `InRelease` uses it.
//!
//! We write the framing ourselves so that what we sign is exactly what gpgv
//! hashes: the text's lines with trailing blanks removed, joined by CRLF,
//! without the line break that precedes the signature armor.

use pgp::composed::CleartextSignedMessage;
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::Signature;

use crate::error::{Error, Result};

const BEGIN: &str = "-----BEGIN PGP SIGNED MESSAGE-----";

/// The lines of `text` as the message shows them: a final newline ends the
/// last line rather than starting an empty one.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
}

/// The bytes a text signature over the clearsigned `text` covers.
pub(super) fn canonical(text: &str) -> String {
    lines(text)
        .map(|line| line.trim_end_matches([' ', '\t']))
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// The clearsigned message: header, dash-escaped `text`, and the armored
/// `signature` made over [`canonical`]`(text)`.
pub(super) fn assemble(text: &str, hash: HashAlgorithm, signature: &str) -> String {
    let mut out = format!("{BEGIN}\nHash: {hash}\n\n");
    for line in lines(text) {
        if line.starts_with('-') {
            out.push_str("- ");
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(signature);
    out
}

/// A parsed clearsigned message.
pub(super) struct Clearsigned {
    /// The signed text with LF line ends, each line (the last too) ended.
    pub body: String,
    /// What the signatures cover (see [`canonical`]).
    pub signed: String,
    pub signatures: Vec<Signature>,
}

/// Splits a clearsigned message into its text and signatures.
pub(super) fn parse(text: &str, input: &str) -> Result<Clearsigned> {
    if !text.starts_with(BEGIN) {
        return Err(Error::signature(
            input,
            format!("no signature: the text does not start with {BEGIN}"),
        ));
    }
    let (message, _headers) = CleartextSignedMessage::from_string(text)
        .map_err(|e| Error::signature(input, format!("malformed clearsigned message: {e}")))?;
    let signed = message.signed_text();
    let mut body = signed.replace("\r\n", "\n");
    if !body.is_empty() {
        body.push('\n');
    }
    Ok(Clearsigned {
        body,
        signed,
        signatures: message.signatures().to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_trims_blanks_and_drops_the_final_newline() {
        assert_eq!(canonical("a \nb\t\n"), "a\r\nb");
        assert_eq!(canonical("a\r\n\nc"), "a\r\n\r\nc");
        assert_eq!(canonical(""), "");
    }

    #[test]
    fn assemble_dash_escapes() {
        let out = assemble("-x\ny\n", HashAlgorithm::Sha256, "SIG\n");
        assert_eq!(out, format!("{BEGIN}\nHash: SHA256\n\n- -x\ny\nSIG\n"));
    }

    #[test]
    fn text_without_header_has_no_signature() {
        let Err(err) = parse("Origin: x\n", "InRelease") else {
            panic!("parsed a message without a signature");
        };
        assert!(err.to_string().contains("no signature"), "{err}");
    }
}
