//! The core's hot paths, each next to the fixed cost of any request
//! through the core (`GET /healthz`), measured in the same run:
//! `cargo bench -p tmi-auth-bench` (or `scripts/bench.sh core`).
//! The in-memory keyring signs with HMAC: signing itself happens in the
//! host's native keyring and is measured by the HTTP benchmark.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use tmi_auth_bench::*;
use tmi_auth_core::testing::TestWorld;
use tmi_auth_core::Request;

fn hot_paths(c: &mut Criterion) {
    let (svc, w) = (service(), TestWorld::default());
    let tokens = login(&svc, &w, "bench-user");
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let (client_id, secret) = credential(&svc, &w, &access);
    let grant = format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}");
    let introspect = format!("token={access}");

    let mut g = c.benchmark_group("core");
    g.bench_function("healthz (baseline)", |b| {
        b.iter(|| black_box(svc.handle(&Request::new("GET", "/healthz"), &w.at(NOW))))
    });
    g.bench_function("client_credentials grant", |b| {
        b.iter(|| black_box(svc.handle(&post_form("/oauth2/token", &grant), &w.at(NOW))))
    });
    g.bench_function("introspect access token", |b| {
        b.iter(|| black_box(svc.handle(&post_form("/oauth2/introspect", &introspect), &w.at(NOW))))
    });
    g.bench_function("userinfo", |b| {
        let req = Request::new("GET", "/oauth2/userinfo").with_header("authorization", &format!("Bearer {access}"));
        b.iter(|| black_box(svc.handle(&req, &w.at(NOW))))
    });
    g.bench_function("full login (authorize, callback, token)", |b| {
        b.iter(|| black_box(login(&svc, &w, "bench-login")))
    });
    g.finish();
}

/// The SAML ACS's own work (parse, canonicalise, verify RSA-SHA256, read
/// the signed bytes again, check), and what parsing a SAML provider's
/// configuration costs (why only /saml/ requests do it).
fn saml(c: &mut Criterion) {
    use tmi_auth_core::saml::{dom, response, test_support as idp};
    let pairs = saml_config_pairs();
    let plain: Vec<_> = pairs.iter().filter(|(k, _)| k != "saml_providers").cloned().collect();
    let svc = tmi_auth_core::Service::new(parse_config(&pairs));
    let provider = &svc.config().saml_providers[0];
    let xml = idp::ResponseSpec::new(Some("_request"), NOW).signed();
    let random = tmi_auth_core::testing::SeqRandom::default();

    let mut g = c.benchmark_group("core");
    g.bench_function("saml: validate a signed Response", |b| {
        b.iter(|| {
            let root = dom::parse(xml.as_bytes()).unwrap();
            black_box(response::validate(&root, provider, NOW + 5, &random).unwrap())
        })
    });
    g.bench_function("config without SAML providers", |b| b.iter(|| black_box(parse_config(&plain))));
    g.bench_function("config with one SAML provider", |b| b.iter(|| black_box(parse_config(&pairs))));
    g.finish();
}

criterion_group!(benches, hot_paths, saml);
criterion_main!(benches);
