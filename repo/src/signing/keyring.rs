//! Trusted public keys and the verification policy applied with them.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::SystemTime;

use pgp::composed::{
    Deserializable, DetachedSignature, PublicOrSecret, SignedPublicKey, SignedPublicSubKey,
};
use pgp::packet::{PublicKey, PublicSubkey, Signature, SignatureType, SubpacketData};
use pgp::types::{Fingerprint, KeyDetails, KeyId, Tag};

use super::{CLOCK_SKEW, cleartext, show_time, strong_hash, unix_seconds};
use crate::error::{Error, IoContext, Result};

/// A set of trusted OpenPGP certificates (public keys with their subkeys).
///
/// Self-signatures and subkey bindings are checked once, when the keyring
/// is read; expiry is checked against the clock at each verification.
#[derive(Debug, Clone)]
pub struct Keyring {
    certs: Vec<Cert>,
}

#[derive(Debug, Clone)]
struct Cert {
    fingerprint: Fingerprint,
    /// The primary key first, then its subkeys.
    components: Vec<Component>,
}

#[derive(Debug, Clone)]
struct Component {
    key: ComponentKey,
    /// How the component may be used, or why it may not be used at all.
    state: std::result::Result<Usable, String>,
}

#[derive(Debug, Clone)]
enum ComponentKey {
    Primary(PublicKey),
    Subkey(PublicSubkey),
}

#[derive(Debug, Clone, Copy)]
struct Usable {
    /// Seconds since the epoch at which the key stops being valid.
    expires: Option<u64>,
    can_sign: bool,
}

/// What one signature amounts to.
enum Verdict {
    Good,
    /// Made by a key that is not in the keyring.
    Unknown(String),
    /// Made by a known key, but refused by policy (weak hash, expiry…).
    Refused(String),
    /// Made by a known key and does not verify: the data or the signature
    /// was altered.
    Bad(String),
}

impl Keyring {
    /// Reads a keyring file: binary (`.gpg`, as in `/usr/share/keyrings`) or
    /// ASCII-armored (`.asc`), holding one or many certificates.
    pub fn load(path: impl AsRef<Path>) -> Result<Keyring> {
        let path = path.as_ref();
        let bytes = fs::read(path).at(path)?;
        Keyring::from_bytes(&bytes, &path.display().to_string())
    }

    /// Reads a keyring from memory; `input` names it in errors. Secret keys
    /// are accepted and only their public parts kept.
    pub fn from_bytes(bytes: &[u8], input: &str) -> Result<Keyring> {
        let keys = parse_keys(bytes, input)?;
        if keys.is_empty() {
            return Err(Error::invalid(input, "keyring", "holds no OpenPGP keys"));
        }
        Ok(Keyring {
            certs: keys.iter().map(Cert::new).collect(),
        })
    }

    /// The primary keys' fingerprints, 40 upper-case hex digits each.
    pub fn fingerprints(&self) -> Vec<String> {
        self.certs
            .iter()
            .map(|cert| format!("{:X}", cert.fingerprint))
            .collect()
    }

    /// Checks a clearsigned message (`InRelease`) and returns the text that
    /// was signed, dash-unescaped, with LF line ends; `input` names it in
    /// errors.
    pub fn verify_clearsigned(&self, text: &str, input: &str) -> Result<String> {
        let message = cleartext::parse(text, input)?;
        self.verify_signatures(
            &message.signatures,
            message.signed.as_bytes(),
            input,
            SystemTime::now(),
        )?;
        Ok(message.body)
    }

    /// Checks a detached signature (`Release.gpg`, `repomd.xml.asc`), armored
    /// or binary, over `data`; `input` names the signed file in errors.
    pub fn verify_detached(&self, data: &[u8], sig: &[u8], input: &str) -> Result<()> {
        if sig.trim_ascii().is_empty() {
            return Err(Error::signature(
                input,
                "no signature: the signature is empty",
            ));
        }
        let (signatures, _headers) = DetachedSignature::from_reader_many(sig)
            .map_err(|e| Error::signature(input, format!("malformed signature: {e}")))?;
        let signatures = signatures
            .map(|s| s.map(|s| s.signature))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::signature(input, format!("malformed signature: {e}")))?;
        if signatures.is_empty() {
            return Err(Error::signature(
                input,
                format!(
                    "malformed signature: no signature packet in {} bytes",
                    sig.len()
                ),
            ));
        }
        self.verify_signatures(&signatures, data, input, SystemTime::now())
    }

    /// Accepts `data` when at least one signature is good. Like apt, a
    /// signature by a known key that does not verify fails the whole check
    /// even if another one is good: it means something was altered.
    fn verify_signatures(
        &self,
        signatures: &[Signature],
        data: &[u8],
        input: &str,
        now: SystemTime,
    ) -> Result<()> {
        if signatures.is_empty() {
            return Err(Error::signature(input, "no signature"));
        }
        let now = unix_seconds(now).map_or(u64::MAX, u64::from);
        let verdicts: Vec<Verdict> = signatures
            .iter()
            .map(|sig| self.verify_one(sig, data, now))
            .collect();
        let bad: Vec<&str> = verdicts
            .iter()
            .filter_map(|v| match v {
                Verdict::Bad(why) => Some(why.as_str()),
                _ => None,
            })
            .collect();
        if !bad.is_empty() {
            return Err(Error::signature(input, bad.join("; ")));
        }
        if verdicts.iter().any(|v| matches!(v, Verdict::Good)) {
            return Ok(());
        }
        let reasons: Vec<&str> = verdicts
            .iter()
            .filter_map(|v| match v {
                Verdict::Unknown(why) | Verdict::Refused(why) => Some(why.as_str()),
                _ => None,
            })
            .collect();
        Err(Error::signature(input, reasons.join("; ")))
    }

    fn verify_one(&self, sig: &Signature, data: &[u8], now: u64) -> Verdict {
        let Some((cert, component)) = self.find_signer(sig) else {
            return Verdict::Unknown(format!("signed by unknown key {}", issuer(sig)));
        };
        let name = component.name(cert);
        let Some(hash) = sig.hash_alg() else {
            return Verdict::Refused(format!("unsupported signature version by {name}"));
        };
        if !strong_hash(hash) {
            return Verdict::Refused(format!("weak hash {hash} in signature by {name}"));
        }
        if !matches!(sig.typ(), Some(SignatureType::Binary | SignatureType::Text)) {
            return Verdict::Refused(format!(
                "signature by {name} is not a data signature ({:?})",
                sig.typ()
            ));
        }
        let Some(created) = sig.created().map(|t| u64::from(t.as_secs())) else {
            return Verdict::Refused(format!("signature by {name} has no creation time"));
        };
        if created > now.saturating_add(CLOCK_SKEW.as_secs()) {
            return Verdict::Refused(format!(
                "signature by {name} was made in the future ({})",
                show_time(created)
            ));
        }
        let usable = match &component.state {
            Ok(usable) => *usable,
            Err(why) => return Verdict::Refused(format!("{name} {why}")),
        };
        if !usable.can_sign {
            return Verdict::Refused(format!("{name} is not allowed to sign data"));
        }
        if created < u64::from(component.created()) {
            return Verdict::Refused(format!("signature by {name} is older than the key"));
        }
        if let Some(expires) = usable.expires
            && expires <= now.max(created)
        {
            return Verdict::Refused(format!("{name} expired on {}", show_time(expires)));
        }
        if let Some(valid) = sig.signature_expiration_time()
            && valid.as_secs() > 0
            && created + u64::from(valid.as_secs()) <= now
        {
            return Verdict::Refused(format!("signature by {name} has expired"));
        }
        let checked = match &component.key {
            ComponentKey::Primary(key) => sig.verify(key, data),
            ComponentKey::Subkey(key) => sig.verify(key, data),
        };
        match checked {
            Ok(()) => Verdict::Good,
            Err(e) => Verdict::Bad(format!("bad signature by {name}: {e}")),
        }
    }

    /// The certificate and component that made `sig`, by the issuer
    /// fingerprint or, for signatures that only carry one, the key id.
    fn find_signer(&self, sig: &Signature) -> Option<(&Cert, &Component)> {
        if !sig.issuer_fingerprint().is_empty() || !sig.issuer_key_id().is_empty() {
            self.certs.iter().find_map(|cert| {
                cert.components
                    .iter()
                    .find(|c| issued_by(sig, &c.key))
                    .map(|c| (cert, c))
            })
        } else {
            None
        }
    }
}

impl Cert {
    fn new(key: &SignedPublicKey) -> Cert {
        let primary = primary_state(key);
        let mut components = vec![Component {
            key: ComponentKey::Primary(key.primary_key.clone()),
            state: primary.clone(),
        }];
        for sub in &key.public_subkeys {
            let state = match &primary {
                Err(why) => Err(format!("belongs to a primary key that {why}")),
                Ok(primary_usable) => subkey_state(&key.primary_key, sub).map(|usable| Usable {
                    expires: match (usable.expires, primary_usable.expires) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    },
                    can_sign: usable.can_sign,
                }),
            };
            components.push(Component {
                key: ComponentKey::Subkey(sub.key.clone()),
                state,
            });
        }
        Cert {
            fingerprint: key.primary_key.fingerprint(),
            components,
        }
    }
}

impl Component {
    fn created(&self) -> u32 {
        match &self.key {
            ComponentKey::Primary(key) => key.created_at().as_secs(),
            ComponentKey::Subkey(key) => key.created_at().as_secs(),
        }
    }

    /// `key FPR` or `subkey FPR of key FPR`, for messages.
    fn name(&self, cert: &Cert) -> String {
        match &self.key {
            ComponentKey::Primary(key) => format!("key {:X}", key.fingerprint()),
            ComponentKey::Subkey(key) => {
                format!(
                    "subkey {:X} of key {:X}",
                    key.fingerprint(),
                    cert.fingerprint
                )
            }
        }
    }
}

/// Whether `sig` names `key` as its issuer.
fn issued_by(sig: &Signature, key: &ComponentKey) -> bool {
    let (fingerprint, key_id) = match key {
        ComponentKey::Primary(key) => (key.fingerprint(), key.legacy_key_id()),
        ComponentKey::Subkey(key) => (key.fingerprint(), key.legacy_key_id()),
    };
    names_issuer(sig, &fingerprint, &key_id)
}

fn names_issuer(sig: &Signature, fingerprint: &Fingerprint, key_id: &KeyId) -> bool {
    let fingerprints = sig.issuer_fingerprint();
    if fingerprints.is_empty() {
        sig.issuer_key_id().contains(&key_id)
    } else {
        fingerprints.contains(&fingerprint)
    }
}

/// The issuer of `sig` for messages: its fingerprint, else its key id.
fn issuer(sig: &Signature) -> String {
    if let Some(fingerprint) = sig.issuer_fingerprint().first() {
        format!("{fingerprint:X}")
    } else if let Some(key_id) = sig.issuer_key_id().first() {
        format!("with key id {}", hex::encode_upper(key_id))
    } else {
        "(the signature names no issuer)".to_string()
    }
}

/// The validity of a primary key: not revoked, and the newest valid
/// self-signature (user id certification or direct key signature) with a
/// strong hash says how long it lives and whether it may sign.
fn primary_state(key: &SignedPublicKey) -> std::result::Result<Usable, String> {
    let primary = &key.primary_key;
    let fingerprint = primary.fingerprint();
    let key_id = primary.legacy_key_id();
    let ours = |sig: &Signature| names_issuer(sig, &fingerprint, &key_id);
    // A revocation counts whatever its hash: refusing too much is safe.
    for sig in &key.details.revocation_signatures {
        if sig.typ() == Some(SignatureType::KeyRevocation)
            && ours(sig)
            && sig.verify_key(primary).is_ok()
        {
            return Err(revoked(sig));
        }
    }
    let mut weak = false;
    let mut newest: Option<&Signature> = None;
    let certifications = key.details.users.iter().flat_map(|user| {
        user.signatures
            .iter()
            .filter(|sig| {
                sig.is_certification() && sig.typ() != Some(SignatureType::CertRevocation)
            })
            .filter(|sig| ours(sig))
            .filter(|sig| {
                sig.verify_certification(primary, Tag::UserId, &user.id)
                    .is_ok()
            })
    });
    let direct = key
        .details
        .direct_signatures
        .iter()
        .filter(|sig| sig.typ() == Some(SignatureType::Key) && ours(sig))
        .filter(|sig| sig.verify_key(primary).is_ok());
    for sig in certifications.chain(direct) {
        if !sig.hash_alg().is_some_and(strong_hash) {
            weak = true;
        } else if newest.is_none_or(|n| created(sig) > created(n)) {
            newest = Some(sig);
        }
    }
    match newest {
        Some(sig) => Ok(usable(sig, primary.created_at().as_secs())),
        None if weak => Err("has only self-signatures with weak hashes (SHA-1 or older)".into()),
        None => Err("has no valid self-signature".into()),
    }
}

/// The validity of a subkey: not revoked, bound to `primary` by a valid
/// binding signature with a strong hash, and — if it may sign — carrying a
/// valid back-signature, which proves the subkey's owner agreed to the
/// binding (without it anyone could attach someone else's signing key).
fn subkey_state(
    primary: &PublicKey,
    sub: &SignedPublicSubKey,
) -> std::result::Result<Usable, String> {
    for sig in &sub.signatures {
        if sig.typ() == Some(SignatureType::SubkeyRevocation)
            && sig.verify_subkey_binding(primary, &sub.key).is_ok()
        {
            return Err(revoked(sig));
        }
    }
    let mut weak = false;
    let mut newest: Option<&Signature> = None;
    let bindings = sub
        .signatures
        .iter()
        .filter(|sig| sig.typ() == Some(SignatureType::SubkeyBinding))
        .filter(|sig| sig.verify_subkey_binding(primary, &sub.key).is_ok());
    for sig in bindings {
        if !sig.hash_alg().is_some_and(strong_hash) {
            weak = true;
        } else if newest.is_none_or(|n| created(sig) > created(n)) {
            newest = Some(sig);
        }
    }
    let binding = match newest {
        Some(sig) => sig,
        None if weak => {
            return Err("is bound to its key only by signatures with weak hashes".into());
        }
        None => return Err("has no valid binding signature to its key".into()),
    };
    let usable = usable(binding, sub.key.created_at().as_secs());
    if usable.can_sign {
        let Some(back) = binding.embedded_signature() else {
            return Err("is a signing subkey without a back-signature".into());
        };
        if let Err(e) = back.verify_primary_key_binding(&sub.key, primary) {
            return Err(format!("has an invalid back-signature: {e}"));
        }
        if !back.hash_alg().is_some_and(strong_hash) {
            return Err("has a back-signature with a weak hash".into());
        }
    }
    Ok(usable)
}

fn created(sig: &Signature) -> u32 {
    sig.created().map_or(0, |t| t.as_secs())
}

/// Expiry and signing capability from a self-signature over a key made at
/// `key_created`. Without a key-flags subpacket a key may do anything
/// (RFC 9580 §5.2.3.29), as old keys predate the subpacket.
fn usable(sig: &Signature, key_created: u32) -> Usable {
    let expires = sig
        .key_expiration_time()
        .map(|d| d.as_secs())
        .filter(|&secs| secs > 0)
        .map(|secs| u64::from(key_created) + u64::from(secs));
    let has_flags = sig.config().is_some_and(|config| {
        config
            .hashed_subpackets()
            .any(|p| matches!(p.data, SubpacketData::KeyFlags(_)))
    });
    Usable {
        expires,
        can_sign: !has_flags || sig.key_flags().sign(),
    }
}

fn revoked(sig: &Signature) -> String {
    let mut why = String::from("is revoked");
    if let Some(reason) = sig.revocation_reason_string()
        && !reason.is_empty()
    {
        let _ = write!(why, " ({})", String::from_utf8_lossy(reason));
    }
    why
}

/// All certificates in `bytes`: a binary keyring, or one or more armor
/// blocks (text around and between them is ignored, as gpg does).
fn parse_keys(bytes: &[u8], input: &str) -> Result<Vec<SignedPublicKey>> {
    if bytes.trim_ascii().is_empty() {
        return Err(Error::invalid(input, "keyring", "is empty"));
    }
    match bytes.first() {
        // Every OpenPGP packet header has the top bit set; armor is ASCII.
        Some(first) if first & 0x80 != 0 => {
            collect_keys(PublicOrSecret::from_bytes_many(bytes), input, "keyring")
        }
        _ => {
            let text = std::str::from_utf8(bytes).map_err(|_| {
                Error::invalid(input, "keyring", "neither a binary keyring nor ASCII armor")
            })?;
            let starts: Vec<usize> = text
                .match_indices("-----BEGIN PGP ")
                .map(|(at, _)| at)
                .filter(|&at| at == 0 || text.as_bytes().get(at - 1) == Some(&b'\n'))
                .collect();
            if starts.is_empty() {
                return Err(Error::invalid(
                    input,
                    "keyring",
                    "neither a binary keyring nor ASCII armor",
                ));
            }
            let mut all = Vec::new();
            for (n, &start) in starts.iter().enumerate() {
                let end = starts.get(n + 1).copied().unwrap_or(text.len());
                let block = text.as_bytes().get(start..end).unwrap_or_default();
                let place = format!("armor block {}", n + 1);
                let parsed = PublicOrSecret::from_armor_many_buf(block).map(|(keys, _)| keys);
                all.extend(collect_keys(parsed, input, &place)?);
            }
            Ok(all)
        }
    }
}

type Keys<'a> =
    pgp::errors::Result<Box<dyn Iterator<Item = pgp::errors::Result<PublicOrSecret>> + 'a>>;

/// The public halves of parsed keys; the first parse error fails them all.
fn collect_keys(parsed: Keys<'_>, input: &str, place: &str) -> Result<Vec<SignedPublicKey>> {
    let invalid = |e: pgp::errors::Error| Error::invalid(input, place, e);
    parsed
        .map_err(invalid)?
        .map(|key| match key.map_err(invalid)? {
            PublicOrSecret::Public(key) => Ok(key),
            PublicOrSecret::Secret(key) => Ok(key.to_public_key()),
        })
        .collect()
}
