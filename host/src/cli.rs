//! Command line: `tmi-auth-host serve ...`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

pub const ENVIRONMENT_HELP: &str = "\
Environment:
  TMI_LISTEN                 address to listen on (--listen; default 127.0.0.1:8080)
  TMI_DATA_DIR               data directory (--data-dir; default ./data)
  TMI_CONFIG_FILE            TOML config file (--config)
  TMI_DEV                    development mode (--dev; 1/true to enable)
  TMI_COMPONENT              component file (--component)
  TMI_LOG_FORMAT             text or json (--log-format)
  TMI_METRICS_LISTEN         serve Prometheus metrics on this address (--metrics-listen; off by default)
  TMI_DEV_CLOCK_OFFSET_FILE  with --dev only: the guest's wall clock runs ahead by the
                             seconds in this file (tests step past expiries with it)
  RUST_LOG                   log filter, e.g. info or tmi_auth_host=debug (default info)

Configuration (served to the component through wasi:config/store; later wins):
  built-in defaults < config file < TMI_CONFIG_<KEY> environment variables.
  Keys are lowercase [a-z0-9_]; TMI_CONFIG_BASE_URL sets base_url. TOML strings
  are served as-is, numbers and booleans as text, arrays and tables as JSON.
  base_url                   default http://<listen address>
  dev_mode                   \"true\" with --dev, else the configured value (default false)
  allowed_outbound_hosts     JSON array of \"host[:port]\" the component may call (default [])
  [store]                    the key-value store; host-only, never served to the component:
                               backend = \"redb\"      # redb (default, in the data directory) | redis | memory
                               url = \"redis://127.0.0.1:6379/0\"   # redis: redis:// or rediss:// (TLS), no password
                               prefix = \"tmi-auth:\"  # redis: prefix of every key
                               timeout_ms = 2000     # redis: connect and response timeout
                               sweep_interval = 60   # redb, memory: seconds between sweeps of expired entries
                             The Redis password is the secret store_redis_password.
                             Unknown keys or tables stop the host, naming them.
  client_callback_allowlist  allowed client callbacks (JSON array; entries ending in * are prefixes)
  token_audience, admins, access_token_lifetime, refresh_token_lifetime,
  session_lifetime, refresh_grace_period, test_provider,
  rate_limit_ip, rate_limit_session, rate_limit_user, rate_limit_client
                             see README.md, \"Configuration\"
  [[keys]]                   signing keys; host-only, never served to the component:
                               [[keys]]
                               kid = \"2026-11\"
                               alg = \"ES256\"        # EdDSA | ES256 | RS256 | HS256
                               secret = \"jwt_key_2026_11\"
                               signing = true       # exactly one key signs
                             Without keys the host refuses to start, except with --dev,
                             which generates development keys in <data-dir>/dev-keys/.

Secrets (never in the config file, never logged). A secret named foo_bar is read from:
  TMI_SECRET_FOO_BAR         the value itself, or
  TMI_SECRET_FOO_BAR_FILE    a file holding it (a final newline is dropped), or
  <data-dir>/secrets/foo_bar
  Key secrets are PKCS#8 PEM (EdDSA, ES256, RS256) or the raw shared secret (HS256,
  at least 32 bytes). client_secret_pepper (>= 32 characters) keys the hashes of
  client secrets; --dev generates one into <data-dir>/secrets/. The component can read other secrets by name through
  wasi:config/store get, but never the ones named in [[keys]].

Data directory:
  store.redb                 the durable key-value store
  cache/                     compiled component cache
  dev-keys/                  generated development keys (--dev only)
  secrets/                   optional secret files";

#[derive(Debug, Parser)]
#[command(name = "tmi-auth-host", version, about = "Runs the tmi-auth service component", after_help = ENVIRONMENT_HELP)]
pub struct Cli {
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "TMI_LOG_FORMAT")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the component over HTTP.
    #[command(after_help = ENVIRONMENT_HELP)]
    Serve(ServeArgs),
    /// Print a Spin manifest (spin.toml) for the same configuration: every
    /// setting a variable, every secret a required secret variable.
    SpinManifest(SpinManifestArgs),
}

#[derive(Debug, clap::Args)]
pub struct SpinManifestArgs {
    /// TOML configuration file (TMI_CONFIG_<KEY> variables apply too).
    #[arg(long, env = "TMI_CONFIG_FILE")]
    pub config: Option<PathBuf>,

    /// Directory of the built components, as the manifest will name it
    /// (relative to the manifest's directory, or absolute).
    #[arg(long, default_value = crate::spin_manifest::DEFAULT_WASM_DIR)]
    pub wasm_dir: String,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "TMI_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Directory for the key-value store, compiled-component cache, dev keys and secret files.
    #[arg(long, env = "TMI_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// TOML configuration file.
    #[arg(long, env = "TMI_CONFIG_FILE")]
    pub config: Option<PathBuf>,

    /// Development mode: sets dev_mode=true and, without [[keys]], uses generated keys.
    #[arg(long, env = "TMI_DEV")]
    pub dev: bool,

    /// Serve Prometheus metrics at http://ADDR/metrics (off by default; keep it off the public network).
    #[arg(long, env = "TMI_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// The service component [default: ../wasm32-wasip2/release/tmi_auth_service.wasm next to this executable].
    #[arg(long, env = "TMI_COMPONENT")]
    pub component: Option<PathBuf>,
}

impl ServeArgs {
    /// `target/release/tmi-auth-host` finds
    /// `target/wasm32-wasip2/release/tmi_auth_service.wasm`.
    pub fn component_path(&self) -> Result<PathBuf> {
        if let Some(path) = &self.component {
            return Ok(path.clone());
        }
        let exe = std::env::current_exe().context("locating the running executable")?;
        let dir = exe
            .parent()
            .context("the executable has no parent directory")?;
        Ok(dir.join("../wasm32-wasip2/release/tmi_auth_service.wasm"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_parses_all_options() {
        let cli = Cli::try_parse_from([
            "tmi-auth-host",
            "serve",
            "--listen",
            "0.0.0.0:9000",
            "--data-dir",
            "/tmp/d",
            "--config",
            "c.toml",
            "--dev",
            "--component",
            "x.wasm",
            "--log-format",
            "json",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else { panic!("serve expected") };
        assert_eq!(args.listen, "0.0.0.0:9000".parse().unwrap());
        assert!(args.dev);
        assert_eq!(args.component_path().unwrap(), PathBuf::from("x.wasm"));
        assert_eq!(cli.log_format, LogFormat::Json);
    }
}
