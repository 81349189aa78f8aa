//! Redis (or Valkey): the store many hosts share. Every operation is one
//! round trip and atomic on the server: `increment` is INCRBY, and
//! compare-and-swap is a Lua script that compares the exact bytes, never a
//! read-then-write in the host. Entries get a real TTL (EXAT) from the
//! expiry the core writes into them (`tmi_auth_core::store::expiry`), so
//! Redis drops them itself.
//!
//! The connection is made on first use and re-made by the connection
//! manager after an outage; while Redis is away every call fails within
//! the timeout (the component answers 503), and service resumes by itself.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, ErrorKind, IntoConnectionInfo, RedisError, Script};
use tokio::sync::OnceCell;

use super::{KvBackend, KvError};

/// Create a key only if it is absent (ARGV[1] = "absent"), else swap it
/// only if it holds exactly ARGV[2]; write ARGV[3], with a TTL at ARGV[4]
/// (Unix seconds) when given. Returns 1 when it wrote.
const COMPARE_AND_SWAP: &str = r#"
local current = redis.call('GET', KEYS[1])
if ARGV[1] == 'absent' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
if ARGV[4] ~= '' then
  redis.call('SET', KEYS[1], ARGV[3], 'EXAT', ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[3])
end
return 1
"#;

/// INCRBY, and the counter's TTL (ARGV[2], Unix seconds) when it has one.
const INCREMENT: &str = r#"
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then redis.call('EXPIREAT', KEYS[1], ARGV[2]) end
return value
"#;

/// How to reach Redis.
pub struct RedisSettings {
    /// `redis://host:port/db` or `rediss://…` (TLS); no password in it.
    pub url: String,
    /// From a secret, never from the configuration file.
    pub password: Option<String>,
    /// Prefix of every key, so several deployments can share one Redis.
    pub prefix: String,
    /// Connect and response timeout.
    pub timeout: Duration,
}

pub struct RedisBackend {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    prefix: String,
    timeout: Duration,
    cas: Script,
    increment: Script,
}

fn storage(e: impl std::fmt::Display) -> KvError {
    KvError::Storage(format!("redis: {e}"))
}

/// Redis's own refusals of INCRBY on a non-counter, or past i64.
fn counter_error(e: RedisError) -> KvError {
    let text = e.to_string();
    if text.contains("overflow") {
        KvError::Overflow
    } else if e.kind() == ErrorKind::Server(redis::ServerErrorKind::ResponseError) && text.contains("not an integer") {
        KvError::NotACounter
    } else {
        storage(e)
    }
}

impl RedisBackend {
    /// A backend for `settings`; nothing is connected yet.
    pub fn new(settings: RedisSettings) -> Result<Self, KvError> {
        let mut info = settings.url.as_str().into_connection_info().map_err(storage)?;
        if info.redis_settings().password().is_some() {
            return Err(KvError::Storage("the store URL must not hold a password: put it in the secret store_redis_password".into()));
        }
        if let Some(password) = settings.password {
            info = info.clone().set_redis_settings(info.redis_settings().clone().set_password(password));
        }
        Ok(RedisBackend {
            client: redis::Client::open(info).map_err(storage)?,
            connection: OnceCell::new(),
            prefix: settings.prefix,
            timeout: settings.timeout,
            cas: Script::new(COMPARE_AND_SWAP),
            increment: Script::new(INCREMENT),
        })
    }

    /// The shared connection, made on first use (and tried again after a failure).
    async fn connection(&self) -> Result<ConnectionManager, KvError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1);
        let connect = self.connection.get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config));
        match tokio::time::timeout(self.timeout, connect).await {
            Ok(Ok(c)) => Ok(c.clone()),
            Ok(Err(e)) => Err(storage(e)),
            Err(_) => Err(storage("connecting timed out")),
        }
    }

    /// One command with the timeout.
    async fn run<T>(&self, f: impl AsyncFnOnce(ConnectionManager) -> Result<T, RedisError>) -> Result<Result<T, RedisError>, KvError> {
        let connection = self.connection().await?;
        tokio::time::timeout(self.timeout, f(connection)).await.map_err(|_| storage("timed out"))
    }

    fn key(&self, bucket: &str, key: &str) -> String {
        format!("{}{bucket}:{key}", self.prefix)
    }

    /// A SCAN pattern matching every key under `head`, taken literally.
    fn pattern(head: &str) -> String {
        let mut out = String::with_capacity(head.len() + 1);
        for c in head.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('*');
        out
    }

    async fn scan(&self, head: &str) -> Result<Vec<String>, KvError> {
        let pattern = Self::pattern(head);
        let keys: Vec<String> = self
            .run(async move |mut c| {
                let mut keys = Vec::new();
                let mut iter = c.scan_match::<_, String>(pattern).await?;
                while let Some(item) = iter.next_item().await {
                    keys.push(item?);
                }
                Ok(keys)
            })
            .await?
            .map_err(storage)?;
        Ok(keys.into_iter().filter_map(|k| k.strip_prefix(head).map(String::from)).collect())
    }
}

fn expiry_arg(key: &str, value: &[u8]) -> String {
    tmi_auth_core::store::expiry(key, value).map(|at| at.to_string()).unwrap_or_default()
}

#[async_trait]
impl KvBackend for RedisBackend {
    fn name(&self) -> &'static str {
        "redis"
    }

    async fn get(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let k = self.key(bucket, key);
        self.run(async move |mut c| c.get::<_, Option<Vec<u8>>>(k).await).await?.map_err(storage)
    }

    async fn set(&self, bucket: &str, key: &str, value: Vec<u8>) -> Result<(), KvError> {
        let (k, at) = (self.key(bucket, key), tmi_auth_core::store::expiry(key, &value));
        self.run(async move |mut c| {
            let mut cmd = redis::cmd("SET");
            cmd.arg(&k).arg(value);
            if let Some(at) = at {
                cmd.arg("EXAT").arg(at);
            }
            cmd.query_async::<()>(&mut c).await
        })
        .await?
        .map_err(storage)
    }

    async fn delete(&self, bucket: &str, key: &str) -> Result<(), KvError> {
        let k = self.key(bucket, key);
        self.run(async move |mut c| c.del::<_, ()>(k).await).await?.map_err(storage)
    }

    async fn exists(&self, bucket: &str, key: &str) -> Result<bool, KvError> {
        let k = self.key(bucket, key);
        self.run(async move |mut c| c.exists::<_, bool>(k).await).await?.map_err(storage)
    }

    async fn list_keys(&self, bucket: &str) -> Result<Vec<String>, KvError> {
        self.scan(&self.key(bucket, "")).await
    }

    async fn increment(&self, bucket: &str, key: &str, delta: i64) -> Result<i64, KvError> {
        let k = self.key(bucket, key);
        let at = tmi_auth_core::store::keys::counter_expiry(key).map(|at| at.to_string()).unwrap_or_default();
        let script = &self.increment;
        self.run(async move |mut c| script.key(k).arg(delta).arg(at).invoke_async::<i64>(&mut c).await).await?.map_err(counter_error)
    }

    async fn compare_and_swap(&self, bucket: &str, key: &str, expected: Option<Vec<u8>>, new: Vec<u8>) -> Result<bool, KvError> {
        let (k, at) = (self.key(bucket, key), expiry_arg(key, &new));
        let script = &self.cas;
        let (mode, expected) = match expected {
            Some(v) => ("present", v),
            None => ("absent", Vec::new()),
        };
        self.run(async move |mut c| script.key(k).arg(mode).arg(expected).arg(new).arg(at).invoke_async::<i64>(&mut c).await)
            .await?
            .map(|wrote| wrote == 1)
            .map_err(storage)
    }

    async fn len(&self) -> Result<usize, KvError> {
        Ok(self.scan(&self.prefix).await?.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::keyvalue::conformance;
    use std::process::{Child, Command, Stdio};
    use std::sync::Arc;

    /// A throwaway redis-server on a free port, or `None` (said loudly)
    /// where none is installed; scripts/test.sh installs one.
    struct Server {
        child: Child,
        port: u16,
    }

    impl Server {
        fn start(port: Option<u16>) -> Option<Server> {
            let port = port.unwrap_or_else(|| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port());
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .spawn();
            let Ok(child) = child else {
                eprintln!("!!! SKIPPED: redis-server is not installed (scripts/test.sh installs it) !!!");
                return None;
            };
            for _ in 0..100 {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Some(Server { child, port });
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            panic!("redis-server did not start");
        }

        fn backend(&self, prefix: &str) -> RedisBackend {
            RedisBackend::new(RedisSettings {
                url: format!("redis://127.0.0.1:{}/0", self.port),
                password: None,
                prefix: prefix.into(),
                timeout: Duration::from_millis(500),
            })
            .unwrap()
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    #[tokio::test]
    async fn conformance() {
        let Some(server) = Server::start(None) else { return };
        conformance::get_set_delete(&server.backend("t1:")).await;
        conformance::increment(&server.backend("t2:")).await;
        conformance::increment_on_non_counter_fails(&server.backend("t3:")).await;
        conformance::compare_and_swap(&server.backend("t4:")).await;
        conformance::racing_cas_has_one_winner(Arc::new(server.backend("t5:"))).await;
    }

    #[tokio::test]
    async fn entries_get_the_ttl_their_expiry_says() {
        let Some(server) = Server::start(None) else { return };
        let kv = server.backend("ttl:");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        kv.set("default", "session:s", format!("{{\"expires_at\":{},\"value\":1}}", now + 100).into_bytes()).await.unwrap();
        kv.set("default", "user:u", format!("{{\"expires_at\":{},\"value\":1}}", u64::MAX).into_bytes()).await.unwrap();
        kv.increment("default", &format!("rl@{}:ip:x", now + 60), 1).await.unwrap();
        kv.compare_and_swap("default", "code:c", None, format!("{{\"expires_at\":{},\"value\":1}}", now + 600).into_bytes()).await.unwrap();
        let client = redis::Client::open(format!("redis://127.0.0.1:{}/0", server.port)).unwrap();
        let c = client.get_multiplexed_async_connection().await.unwrap();
        let ttl = |key: &'static str| {
            let mut c = c.clone();
            async move { c.ttl::<_, i64>(key).await.unwrap() }
        };
        assert!((95..=100).contains(&ttl("ttl:default:session:s").await));
        assert_eq!(ttl("ttl:default:user:u").await, -1, "no expiry");
        let rl: &'static str = format!("ttl:default:rl@{}:ip:x", now + 60).leak();
        assert!((55..=60).contains(&ttl(rl).await));
        assert!((595..=600).contains(&ttl("ttl:default:code:c").await));
        // Already expired: gone at once.
        kv.set("default", "session:old", format!("{{\"expires_at\":{},\"value\":1}}", now - 5).into_bytes()).await.unwrap();
        assert_eq!(kv.get("default", "session:old").await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_outage_fails_fast_and_service_resumes_by_itself() {
        let Some(server) = Server::start(None) else { return };
        let port = server.port;
        let kv = server.backend("outage:");
        kv.set("default", "k", b"v".to_vec()).await.unwrap();
        drop(server);
        let started = std::time::Instant::now();
        assert!(matches!(kv.get("default", "k").await, Err(KvError::Storage(_))));
        assert!(matches!(kv.increment("default", "n", 1).await, Err(KvError::Storage(_))));
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        let _again = Server::start(Some(port)).unwrap();
        let mut resumed = false;
        for _ in 0..40 {
            if kv.set("default", "k", b"w".to_vec()).await.is_ok() {
                resumed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(resumed, "the backend did not reconnect");
        assert_eq!(kv.get("default", "k").await.unwrap(), Some(b"w".to_vec()));
    }

    #[test]
    fn a_password_in_the_url_is_refused() {
        let settings = RedisSettings { url: "redis://:hunter2@127.0.0.1:6379/0".into(), password: None, prefix: "p:".into(), timeout: Duration::from_secs(1) };
        let Err(KvError::Storage(message)) = RedisBackend::new(settings) else { panic!("accepted") };
        assert!(message.contains("store_redis_password") && !message.contains("hunter2"), "{message}");
    }
}
