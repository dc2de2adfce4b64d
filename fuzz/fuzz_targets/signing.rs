//! Keyrings, clearsigned messages and detached signatures from arbitrary
//! bytes: every outcome must be a value or an error, never a panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pig_repo::signing::{Keyring, SigningKey};

/// A real RSA 3072 public key (made by gpg for this target), so inputs
/// that name it as issuer reach the checks after the key lookup. Generating
/// one here instead takes minutes under the sanitizer.
const PUBLIC_KEY: &str = "\
-----BEGIN PGP PUBLIC KEY BLOCK-----

mQGNBGsMbiwBDAC/tLUDdg975Gd9VXLcCWg2bG0KWBfQ3wNpx5gBo9T9JDfNTtTC
IDG5ueyOhf294gWpFwNcX48SyghYemrfOXJMJIhTg8eXlime+XOUowrahdIZ8LgZ
+hf0bEe+YCZEGeX9u+jSSpcvs03vc3+cm3rr57C8w9z9ZVKkDTb5sJTn4ITPsBxy
eV2AYGgJ5MJDkO5mth/5TuEgo/cUG53Qj1FZgI7Q1aLndZe/dZEQwPNnFdpLxLgX
5Y4K5lkhMyBxE8EATHDd04u2lHzeNQilMHhFFcTjgr/i8Q2o10uFP5b5aSYhOUb2
QdEPDO8EjKNydfgYGlWaLXbzL+iZJua+l9nXPwpq+kODrw5YQLT4QiKZPF/mdKAf
EUtRD04JY8ySVG+IuPMhsyGtMYICLVL/IviMrR9f4fhVNwLC2Q+lMLrlPaYWZ1S3
r7aGCV1+dgaCKDlWLf66096RajLSYEixiRfyQZ7tIb5WQLqu/ivBtMmxlhQzYP+V
U4vD1kTPW9PMKDcAEQEAAbQbcGlnIGZ1enogPGZ1enpAZXhhbXBsZS5vcmc+iQHO
BBMBCgA4FiEEVc/DY/L3X4RXtzSGqzMtTqepjLwFAmsMbiwCGwMFCwkIBwIGFQoJ
CAsCBBYCAwECHgECF4AACgkQqzMtTqepjLwXMAv+NH2/FpOxk1plvxAz+TzdsA9f
rNIdu3BAXlk4hcOmflOxUFBHigdTC2Ze1TmaTkzxG0yA+QTbRRYY6eJUQbBThvbn
OCapFpHAS92xtHgIcixL3Q0yISHWwW3+c6bHMlQuHrM3iqfi5TJ9+4EdTphuX1Jh
0pccxwTnMAa+oUgI0UOCCDHVAT7bzEyCcil9o56MZ0B4bKlcGRSguTovyksWHl2f
W2mpGTr9aMqmTjhQdwbNKg9SMj9MZIArrNb1bHAxlMIJMZDpJNxdAIJea5NxU4Hg
iVyR24S0J/MzMNu0LAJgsaS8UbRhW2kI2HDJr1cryKyOY9ngyNp2K3he6cJ4nxIM
Af5Kmq8qaK5XfvXPky6LK7vg1Tggnjm4BSSZkvZ8Dg5FRIZweAEsPsc+ie+nFkE+
dHEhh4cfXm6pmkSliJBDkfOeLH3Y74W2U1tO1iunjou5ZRmbHgvT1offDU34b7vY
Tkx+uISTzleNyIbBRMsXOKQHYqEW0ZBCQtfSFB2C
=/alS
-----END PGP PUBLIC KEY BLOCK-----
";

fn keyring() -> &'static Keyring {
    static KEYRING: OnceLock<Keyring> = OnceLock::new();
    KEYRING
        .get_or_init(|| Keyring::from_bytes(PUBLIC_KEY.as_bytes(), "fuzz.asc").expect("fuzz key"))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = Keyring::from_bytes(data, "fuzz") {
        let _ = parsed.fingerprints();
    }
    let _ = keyring().verify_detached(b"Origin: pig\n", data, "fuzz");
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = keyring().verify_clearsigned(text, "fuzz");
        let _ = SigningKey::from_armored(text, "fuzz");
    }
});
