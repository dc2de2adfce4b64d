//! Issue a node certificate from the seed's CA.

use anyhow::{Context, Result};
use chrono::Datelike;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use super::resource::CertSpec;

/// Days a node certificate is valid for.
const VALID_DAYS: u64 = 3650;

/// A new key and a certificate for `spec`, signed by its CA, as PEM
/// `(certificate, key)`. Usable as TLS server and client.
pub fn issue(spec: &CertSpec) -> Result<(String, String)> {
    let ca_key = KeyPair::from_pem(&spec.ca_key).context("reading the seed CA key")?;
    let issuer = Issuer::from_ca_cert_pem(&spec.ca_cert, ca_key)
        .context("reading the seed CA certificate")?;
    let key = KeyPair::generate().context("making a key pair")?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, spec.common_name.as_str());
    dn.push(DnType::OrganizationName, "pig");
    params.distinguished_name = dn;
    for name in &spec.dns_names {
        params.subject_alt_names.push(SanType::DnsName(
            name.clone()
                .try_into()
                .with_context(|| format!("{name} is not a DNS name"))?,
        ));
    }
    for ip in &spec.ips {
        params.subject_alt_names.push(SanType::IpAddress(*ip));
    }
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    // Start yesterday so a node whose clock lags a little still accepts it.
    let start = chrono::Utc::now().date_naive() - chrono::Days::new(1);
    let end = start + chrono::Days::new(VALID_DAYS);
    params.not_before = rcgen::date_time_ymd(start.year(), start.month() as u8, start.day() as u8);
    params.not_after = rcgen::date_time_ymd(end.year(), end.month() as u8, end.day() as u8);
    let cert = params
        .signed_by(&key, &issuer)
        .context("signing the certificate")?;
    Ok((cert.pem(), key.serialize_pem()))
}
