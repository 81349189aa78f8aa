//! Secrets: never in the config file, never logged.
//!
//! A secret named `foo_bar` is looked up, in order, in the environment
//! variable `TMI_SECRET_FOO_BAR`, in the file named by
//! `TMI_SECRET_FOO_BAR_FILE` (for Docker/Kubernetes secret mounts), and in
//! `<data-dir>/secrets/foo_bar`. Errors name the secret, never its value.
//! A secret found is kept in memory: the component asks for the pepper on
//! every request, and a file read per request cost a twentieth of a
//! `/healthz`. Changing a secret means restarting the host.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

pub const ENV_PREFIX: &str = "TMI_SECRET_";

/// Secret bytes that do not print themselves.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(Vec<u8>);

impl SecretValue {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

pub struct Secrets {
    dir: PathBuf,
    /// A snapshot of the `TMI_SECRET_*` variables taken at startup.
    env: HashMap<String, String>,
    /// Secrets found so far (never the ones not found: they may appear).
    found: std::sync::RwLock<HashMap<String, SecretValue>>,
}

impl Secrets {
    pub fn from_process_env(data_dir: &Path) -> Self {
        Self::new(
            data_dir,
            std::env::vars().filter(|(k, _)| k.starts_with(ENV_PREFIX)),
        )
    }

    pub fn new(data_dir: &Path, env: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            dir: data_dir.join("secrets"),
            env: env.into_iter().collect(),
            found: Default::default(),
        }
    }

    /// Valid secret names are the config-key alphabet, so a name can never
    /// escape the secrets directory.
    pub fn is_valid_name(name: &str) -> bool {
        !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    }

    /// Looks a secret up; `Ok(None)` when no source defines it.
    pub fn get(&self, name: &str) -> Result<Option<SecretValue>> {
        if let Some(value) = self.found.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(name) {
            return Ok(Some(value.clone()));
        }
        let value = self.look_up(name)?;
        if let Some(value) = &value {
            self.found.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert(name.to_string(), value.clone());
        }
        Ok(value)
    }

    fn look_up(&self, name: &str) -> Result<Option<SecretValue>> {
        if !Self::is_valid_name(name) {
            bail!("invalid secret name {name:?}: use lowercase letters, digits and '_'");
        }
        let var = format!("{ENV_PREFIX}{}", name.to_ascii_uppercase());
        if let Some(value) = self.env.get(&var) {
            return Ok(Some(SecretValue(value.as_bytes().to_vec())));
        }
        if let Some(file) = self.env.get(&format!("{var}_FILE")) {
            let bytes = std::fs::read(file).with_context(|| {
                format!("reading secret {name:?} from {file} (named by {var}_FILE)")
            })?;
            return Ok(Some(SecretValue(trim_final_newline(bytes))));
        }
        let path = self.dir.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(SecretValue(trim_final_newline(bytes)))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => {
                Err(e).with_context(|| format!("reading secret {name:?} from {}", path.display()))
            }
        }
    }

    /// Like [`get`](Self::get), but a missing secret is an error that says
    /// where it was looked for.
    pub fn require(&self, name: &str) -> Result<SecretValue> {
        self.get(name)?.with_context(|| {
            let var = format!("{ENV_PREFIX}{}", name.to_ascii_uppercase());
            format!(
                "secret {name:?} is not set: set {var}, or {var}_FILE to a file holding it, or create {}",
                self.dir.join(name).display()
            )
        })
    }
}

/// Files written with `echo` end in a newline that is not part of the
/// secret (a PEM document does not care either way).
fn trim_final_newline(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_read_once_and_a_missing_one_is_looked_for_again() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::new(dir.path(), Vec::new());
        assert_eq!(secrets.get("pepper").unwrap(), None);
        std::fs::create_dir_all(dir.path().join("secrets")).unwrap();
        std::fs::write(dir.path().join("secrets/pepper"), "first").unwrap();
        assert_eq!(secrets.get("pepper").unwrap().unwrap().expose(), b"first", "appeared after a miss");
        std::fs::write(dir.path().join("secrets/pepper"), "second").unwrap();
        assert_eq!(secrets.get("pepper").unwrap().unwrap().expose(), b"first", "kept in memory");
    }

    #[test]
    fn env_wins_over_file_and_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("secrets")).unwrap();
        std::fs::write(dir.path().join("secrets/foo_bar"), "from-dir\n").unwrap();
        let file = dir.path().join("mounted");
        std::fs::write(&file, "from-file\n").unwrap();

        let only_dir = Secrets::new(dir.path(), []);
        assert_eq!(
            only_dir.get("foo_bar").unwrap().unwrap().expose(),
            b"from-dir"
        );

        let with_file = Secrets::new(
            dir.path(),
            [(
                "TMI_SECRET_FOO_BAR_FILE".to_string(),
                file.display().to_string(),
            )],
        );
        assert_eq!(
            with_file.get("foo_bar").unwrap().unwrap().expose(),
            b"from-file"
        );

        let with_env = Secrets::new(
            dir.path(),
            [
                (
                    "TMI_SECRET_FOO_BAR_FILE".to_string(),
                    file.display().to_string(),
                ),
                ("TMI_SECRET_FOO_BAR".to_string(), "from-env".to_string()),
            ],
        );
        assert_eq!(
            with_env.get("foo_bar").unwrap().unwrap().expose(),
            b"from-env"
        );
    }

    #[test]
    fn missing_secret_error_names_the_secret_not_a_value() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::new(dir.path(), []);
        assert!(secrets.get("absent").unwrap().is_none());
        let err = format!("{:#}", secrets.require("absent").unwrap_err());
        assert!(
            err.contains("\"absent\"") && err.contains("TMI_SECRET_ABSENT"),
            "{err}"
        );
    }

    #[test]
    fn path_traversal_names_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::new(dir.path(), []);
        assert!(secrets.get("../etc/passwd").is_err());
        assert!(secrets.get("").is_err());
    }

    #[test]
    fn debug_output_is_redacted() {
        let s = SecretValue::new(b"hunter2".to_vec());
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
