//! The repository signing key: generation, storage and signing.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::SystemTime;

use pgp::composed::{
    ArmorOptions, DetachedSignature, KeyType, SecretKeyParamsBuilder, SignedSecretKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::packet::{SignatureConfig, SignatureType, Subpacket, SubpacketData};
use pgp::types::{KeyDetails, Password, SecretParams};

use super::cleartext;
use super::{show_time, timestamp};
use crate::error::{Error, IoContext, Result};

/// An OpenPGP secret key that signs repository metadata.
///
/// Keys made by [`SigningKey::generate`] are v4 RSA 3072 keys with one
/// sign-and-certify primary and SHA-256 self-signatures: the newest
/// algorithms that gpgv on Debian 12, sqv and rpm on EL9 all accept.
#[derive(Debug, Clone)]
pub struct SigningKey {
    key: SignedSecretKey,
}

/// Hash of every signature we make.
const HASH: HashAlgorithm = HashAlgorithm::Sha256;

/// RSA modulus size: 3072 bits is NIST's 128-bit security level.
const RSA_BITS: u32 = 3072;

impl SigningKey {
    /// Generates a new key for `uid` (such as `pig repository <ops@example.org>`)
    /// whose creation time is `created`, which must not lie in the future
    /// (verifiers refuse self-signatures older than their key).
    pub fn generate(uid: &str, created: SystemTime) -> Result<SigningKey> {
        let input = "new signing key";
        if created > SystemTime::now() {
            return Err(Error::invalid(input, "creation time", "lies in the future"));
        }
        let created = timestamp(created)
            .ok_or_else(|| Error::invalid(input, "creation time", "outside 1970..2106"))?;
        let params = SecretKeyParamsBuilder::default()
            .key_type(KeyType::Rsa(RSA_BITS))
            .can_certify(true)
            .can_sign(true)
            .created_at(created)
            .primary_user_id(uid.to_string())
            .preferred_symmetric_algorithms(
                vec![SymmetricKeyAlgorithm::AES256, SymmetricKeyAlgorithm::AES128].into(),
            )
            .preferred_hash_algorithms(vec![HASH, HashAlgorithm::Sha512].into())
            .build()
            .map_err(|e| Error::invalid(input, "parameters", e))?;
        let key = params
            .generate(rand::thread_rng())
            .map_err(|e| Error::invalid(input, "generation", e))?;
        Ok(SigningKey { key })
    }

    /// Reads an armored, unprotected secret key; `input` names it in errors.
    pub fn from_armored(text: &str, input: &str) -> Result<SigningKey> {
        let (key, _headers) = <SignedSecretKey as pgp::composed::Deserializable>::from_string(text)
            .map_err(|e| Error::invalid(input, "secret key", e))?;
        key.verify_bindings()
            .map_err(|e| Error::invalid(input, "secret key", format!("bad self-signature: {e}")))?;
        if matches!(key.primary_key.secret_params(), SecretParams::Encrypted(_)) {
            return Err(Error::invalid(
                input,
                "secret key",
                "is protected by a passphrase; pig needs an unprotected key",
            ));
        }
        Ok(SigningKey { key })
    }

    /// Reads an armored secret key file.
    pub fn load(path: impl AsRef<Path>) -> Result<SigningKey> {
        let path = path.as_ref();
        let text = fs::read_to_string(path).at(path)?;
        SigningKey::from_armored(&text, &path.display().to_string())
    }

    /// Writes the armored secret key to `path`, readable by its owner only.
    /// The key goes to a temporary file beside `path` that is renamed over
    /// it, so a crash leaves either the old file or the new one.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut file = tempfile::Builder::new()
            .prefix(".pig-key")
            .permissions(fs::Permissions::from_mode(0o600))
            .tempfile_in(dir)
            .at(dir)?;
        file.write_all(self.to_armored().as_bytes())
            .at(file.path())?;
        file.as_file().sync_all().at(file.path())?;
        file.persist(path).map_err(|e| Error::io(path, e.error))?;
        Ok(())
    }

    /// The armored secret key (`-----BEGIN PGP PRIVATE KEY BLOCK-----`).
    pub fn to_armored(&self) -> String {
        self.key
            .to_armored_string(ArmorOptions::default())
            .expect("an in-memory secret key always serialises")
    }

    /// The armored public key, for `signed-by=` and `rpm --import`.
    pub fn public_armored(&self) -> String {
        self.key
            .to_public_key()
            .to_armored_string(ArmorOptions::default())
            .expect("an in-memory public key always serialises")
    }

    /// When the primary key was made. Signatures must not be older.
    pub fn created(&self) -> SystemTime {
        use pgp::types::KeyDetails;
        std::time::UNIX_EPOCH
            + std::time::Duration::from_secs(u64::from(self.key.primary_key.created_at().as_secs()))
    }

    /// The primary key's v4 fingerprint, 40 upper-case hex digits.
    pub fn fingerprint(&self) -> String {
        format!("{:X}", self.key.fingerprint())
    }

    /// Clearsigns `text` as of `time`, giving an `InRelease` file. The
    /// signed lines are `text`'s lines; a final newline ends the last line.
    /// `time` must not be before the key's creation.
    pub fn clearsign(&self, text: &str, time: SystemTime) -> Result<String> {
        let signed = cleartext::canonical(text);
        let signature = self.sign(SignatureType::Text, signed.as_bytes(), time)?;
        Ok(cleartext::assemble(text, HASH, &signature))
    }

    /// An armored detached signature of `data` as of `time`, for
    /// `Release.gpg` and `repomd.xml.asc`.
    pub fn sign_detached_armored(&self, data: &[u8], time: SystemTime) -> Result<String> {
        self.sign(SignatureType::Binary, data, time)
    }

    /// An armored v4 signature with the creation time and the issuer's
    /// fingerprint in the hashed area and its key id in the unhashed area,
    /// as gpg writes them (older verifiers look only for the key id).
    fn sign(&self, typ: SignatureType, data: &[u8], time: SystemTime) -> Result<String> {
        let input = "signature";
        let created = timestamp(time)
            .ok_or_else(|| Error::signature(input, "signing time outside 1970..2106"))?;
        let signer = &self.key.primary_key;
        if created < signer.created_at() {
            return Err(Error::signature(
                input,
                format!(
                    "signing time {} is before the key was made ({}); verifiers would refuse it",
                    show_time(created.as_secs().into()),
                    show_time(signer.created_at().as_secs().into())
                ),
            ));
        }
        let mut config = SignatureConfig::v4(typ, signer.algorithm(), HASH);
        let pgp_error = |e: pgp::errors::Error| Error::signature(input, e);
        config.hashed_subpackets = vec![
            Subpacket::regular(SubpacketData::SignatureCreationTime(created)).map_err(pgp_error)?,
            Subpacket::regular(SubpacketData::IssuerFingerprint(signer.fingerprint()))
                .map_err(pgp_error)?,
        ];
        config.unhashed_subpackets = vec![
            Subpacket::regular(SubpacketData::IssuerKeyId(signer.legacy_key_id()))
                .map_err(pgp_error)?,
        ];
        let signature = config
            .sign(signer, &Password::empty(), data)
            .map_err(pgp_error)?;
        DetachedSignature::new(signature)
            .to_armored_string(ArmorOptions::default())
            .map_err(pgp_error)
    }
}
