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

criterion_group!(benches, hot_paths);
criterion_main!(benches);
