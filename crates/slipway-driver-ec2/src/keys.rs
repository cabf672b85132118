//! A run's SSH key pair, made in memory: the public half goes to EC2 (ImportKeyPair), the
//! private half stays in this process (and, for kept runs, the keychain), never on disk.

use slipway_driver::DriverError;
use ssh_key::{rand_core::OsRng, Algorithm, LineEnding, PrivateKey};

/// A fresh ed25519 key pair: (public key, OpenSSH `authorized_keys` line; private key, OpenSSH
/// PEM).
pub fn new_key_pair(comment: &str) -> Result<(String, String), DriverError> {
    let failed = |e: ssh_key::Error| DriverError::other(format!("cannot make an SSH key: {e}"));
    let mut key = PrivateKey::random(&mut OsRng, Algorithm::Ed25519).map_err(failed)?;
    key.set_comment(comment);
    let public = key.public_key().to_openssh().map_err(failed)?;
    let private = key.to_openssh(LineEnding::LF).map_err(failed)?;
    Ok((public, private.to_string()))
}

/// The public half (an `authorized_keys` line) of a private key in OpenSSH format.
pub fn public_of(private: &str) -> Result<String, DriverError> {
    let failed =
        |e: ssh_key::Error| DriverError::other(format!("the run's SSH key cannot be read: {e}"));
    PrivateKey::from_openssh(private)
        .map_err(failed)?
        .public_key()
        .to_openssh()
        .map_err(failed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn key_pairs_are_fresh_and_in_openssh_format() {
        let (public, private) = super::new_key_pair("slipway-run").unwrap();
        assert!(public.starts_with("ssh-ed25519 "), "{public}");
        assert!(public.ends_with(" slipway-run"), "{public}");
        assert!(private.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
        assert_ne!(super::new_key_pair("x").unwrap().0, public);
        assert_eq!(super::public_of(&private).unwrap(), public);
    }
}
