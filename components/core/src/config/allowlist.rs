//! Where a client may be sent back to after login (the `client_callback`
//! allowlist): an open redirector would hand codes to an attacker.

/// Allowed client callback URLs: exact entries, or prefixes for entries
/// ending in `*`. An empty list allows nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackAllowlist {
    entries: Vec<String>,
    dev_localhost: bool,
}

impl CallbackAllowlist {
    /// `dev_localhost` adds `http://localhost:*` and `http://127.0.0.1:*`.
    pub fn new(entries: Vec<String>, dev_localhost: bool) -> Self {
        CallbackAllowlist { entries, dev_localhost }
    }

    /// Whether `callback` may be redirected to.
    pub fn allows(&self, callback: &str) -> bool {
        let Ok(url) = url::Url::parse(callback) else { return false };
        // Userinfo and fragments have no place in a callback, and a parsed
        // URL that prints differently hides tricks (`\`, encoded dots, ...).
        if !matches!(url.scheme(), "http" | "https")
            || !url.username().is_empty()
            || url.password().is_some()
            || url.fragment().is_some()
        {
            return false;
        }
        if self.dev_localhost && url.scheme() == "http" {
            let host = url.host_str().unwrap_or("");
            if host == "localhost" || host == "127.0.0.1" {
                return true;
            }
        }
        self.entries.iter().any(|entry| match entry.strip_suffix('*') {
            Some(prefix) => callback.starts_with(prefix) && prefix_is_safe(prefix),
            None => callback == entry,
        })
    }
}

/// A prefix entry must fix at least the origin and a `/` after it, so that
/// `https://app.example.com*` cannot match `https://app.example.com.evil.net`.
fn prefix_is_safe(prefix: &str) -> bool {
    match prefix.find("://") {
        Some(i) => prefix[i + 3..].contains('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str], dev: bool) -> CallbackAllowlist {
        CallbackAllowlist::new(entries.iter().map(|s| s.to_string()).collect(), dev)
    }

    #[test]
    fn empty_list_rejects_all() {
        assert!(!list(&[], false).allows("https://app.example.com/cb"));
    }

    #[test]
    fn exact_and_prefix_entries() {
        let l = list(&["https://app.example.com/cb", "https://tmi.example.com/auth/*"], false);
        assert!(l.allows("https://app.example.com/cb"));
        assert!(!l.allows("https://app.example.com/cb2"));
        assert!(l.allows("https://tmi.example.com/auth/done?x=1"));
        assert!(!l.allows("https://tmi.example.com/other"));
    }

    #[test]
    fn prefix_without_path_never_matches_lookalike_hosts() {
        let l = list(&["https://app.example.com*"], false);
        assert!(!l.allows("https://app.example.com.evil.net/cb"));
    }

    #[test]
    fn userinfo_and_fragment_are_refused() {
        let l = list(&["https://app.example.com/*"], false);
        assert!(!l.allows("https://user@app.example.com/cb"));
        assert!(!l.allows("https://app.example.com/cb#frag"));
    }

    #[test]
    fn localhost_only_in_dev_mode() {
        assert!(list(&[], true).allows("http://localhost:4200/cb"));
        assert!(list(&[], true).allows("http://127.0.0.1:9/cb"));
        assert!(!list(&[], false).allows("http://localhost:4200/cb"));
        assert!(!list(&[], true).allows("http://localhost.evil.net/cb"));
    }
}
