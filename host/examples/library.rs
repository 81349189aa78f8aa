//! The `tmi:auth` library component embedded in a Rust program: typed
//! calls, no HTTP, the same store, configuration and keys as a host with
//! this configuration file (for a shared state, a `[store]` on Redis).
//!
//!     cargo run --release -p tmi-auth-host --example library -- \
//!         --config tmi-auth.toml --data-dir data verify <access token>
//!
//! Prints one JSON object: `{"ok": …}` or `{"refused": …}`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use tmi_auth_host::library::Library;

#[derive(Parser)]
struct Args {
    /// The host's configuration file.
    #[arg(long)]
    config: PathBuf,
    /// Data directory (compiled-component cache, file secrets).
    #[arg(long)]
    data_dir: PathBuf,
    /// Development mode, as `tmi-auth-host serve --dev`.
    #[arg(long)]
    dev: bool,
    /// The library component.
    #[arg(long, default_value = "target/wasm32-wasip2/release/tmi_auth_library.wasm")]
    component: PathBuf,
    #[command(subcommand)]
    call: Call,
}

#[derive(Subcommand)]
enum Call {
    Verify { token: String },
    Introspect { token: String },
    Revoke { token: String },
    PkceChallenge { verifier: String },
    PkceVerify { verifier: String, challenge: String },
    CheckClient { client_id: String, client_secret: String },
    SamlBegin { provider: String, client_callback: String },
    SamlValidate { saml_response: String, relay_state: Option<String> },
}

/// `{"ok": value}` or `{"refused": "<the typed error>"}`.
fn answer<T, E: std::fmt::Debug>(result: Result<T, E>, ok: impl FnOnce(T) -> Value) -> Value {
    match result {
        Ok(value) => json!({ "ok": ok(value) }),
        Err(e) => json!({ "refused": format!("{e:?}").trim_matches('"').to_string() }),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let lib = Library::open(&args.config, &args.data_dir, &args.component, args.dev).await?;
    let out = match args.call {
        Call::Verify { token } => answer(lib.verify(&token).await?, |c| {
            json!({ "sub": c.sub, "email": c.email, "name": c.name, "idp": c.idp, "groups": c.groups,
                    "iss": c.iss, "aud": c.aud, "exp": c.expires_at, "jti": c.jti, "sid": c.session_id, "client_id": c.client_id })
        }),
        Call::Introspect { token } => answer(lib.introspect(&token).await?, |i| {
            json!({ "active": i.active, "sub": i.sub, "email": i.email, "email_verified": i.email_verified, "name": i.name,
                    "iss": i.iss, "iat": i.issued_at, "exp": i.expires_at })
        }),
        Call::Revoke { token } => answer(lib.revoke(&token).await?, |()| json!(true)),
        Call::PkceChallenge { verifier } => answer(lib.pkce_challenge(&verifier).await?.map_err(|e| e.name()), |c| json!(c)),
        Call::PkceVerify { verifier, challenge } => {
            answer(lib.pkce_verify(&verifier, &challenge).await?.map_err(|e| e.name()), |ok| json!(ok))
        }
        Call::CheckClient { client_id, client_secret } => answer(lib.check_client(&client_id, &client_secret).await?, |c| {
            json!({ "client_id": c.client_id, "name": c.name, "owner_idp": c.owner_idp, "owner_sub": c.owner_sub })
        }),
        Call::SamlBegin { provider, client_callback } => {
            answer(lib.saml_begin_login(&provider, &client_callback).await?, |l| json!({ "url": l.url, "relay_state": l.relay_state }))
        }
        Call::SamlValidate { saml_response, relay_state } => answer(lib.saml_validate(&saml_response, relay_state.as_deref()).await?, |i| {
            json!({ "provider": i.provider, "name_id": i.name_id, "subject": i.subject, "email": i.email, "name": i.name, "groups": i.groups })
        }),
    };
    println!("{out}");
    Ok(())
}
