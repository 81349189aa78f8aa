// A real OpenID Connect provider for the end-to-end tests: oauth2-mock-server
// (discovery, JWKS, authorize, token, userinfo) on 127.0.0.1:<port>, with
// misbehaviour switched on per test through POST /_control (JSON):
//
//   claims:        object merged into the ID token and the userinfo answer
//                  (sub, email, email_verified, name, groups, ...)
//   omit_email:    true: no email anywhere
//   foreign_key:   "same-kid" | "unknown-kid": sign the ID token with a key
//                  that is not in the JWKS
//   nonce:         "wrong" | "replay": a made-up nonce, or the previous
//                  login's nonce
//   fail:          {path, status} answer with this status
//                  {path, malformed: true} answer 200 with a body that is not JSON
//                  {path, delay_ms} answer normally, but only after the delay
//
// An empty object resets everything. Usage: node oidc_provider.mjs <port>

import http from "node:http";
import { OAuth2Issuer, OAuth2Service } from "oauth2-mock-server";
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from "jose";

const port = Number(process.argv[2]);
if (!port) {
  console.error("usage: node oidc_provider.mjs <port>");
  process.exit(2);
}

const issuer = new OAuth2Issuer();
issuer.url = `http://127.0.0.1:${port}`;
await issuer.keys.generate("RS256");
const service = new OAuth2Service(issuer);
const foreign = await generateKeyPair("RS256");

const DEFAULT_USER = {
  sub: "johndoe",
  email: "john.doe@mock.example",
  email_verified: true,
  name: "John Doe",
};

let mode = {};
let previousNonce = "never-issued";

function user() {
  const u = { ...DEFAULT_USER, ...(mode.claims || {}) };
  if (mode.omit_email) delete u.email;
  return u;
}

service.on("beforeTokenSigning", (token) => {
  const p = token.payload;
  if (p.amr !== undefined) return; // the access token: leave it alone
  Object.assign(p, user());
  if (mode.omit_email) delete p.email;
  if (p.nonce !== undefined) {
    const original = p.nonce;
    if (mode.nonce === "wrong") p.nonce = "made-up-nonce";
    if (mode.nonce === "replay") p.nonce = previousNonce;
    previousNonce = original;
  }
});

service.on("beforeUserinfo", (response) => {
  response.body = user();
});

async function resign(idToken) {
  const header = decodeProtectedHeader(idToken);
  const payload = decodeJwt(idToken);
  const kid = mode.foreign_key === "same-kid" ? header.kid : "foreign-key";
  return await new SignJWT(payload).setProtectedHeader({ alg: "RS256", typ: "JWT", kid }).sign(foreign.privateKey);
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

const handler = service.requestHandler;

const server = http.createServer(async (req, res) => {
  const path = new URL(req.url, "http://localhost").pathname;
  if (path === "/_control" && req.method === "POST") {
    mode = JSON.parse((await readBody(req)) || "{}");
    res.statusCode = 204;
    res.end();
    return;
  }
  const fail = mode.fail;
  if (fail && fail.path === path) {
    if (fail.delay_ms) {
      await new Promise((r) => setTimeout(r, fail.delay_ms));
    } else if (fail.malformed) {
      res.setHeader("content-type", "application/json");
      res.end("{not json: upstream internals");
      return;
    } else if (fail.status) {
      res.statusCode = fail.status;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ error: "server_error", error_description: "upstream internals: stack trace" }));
      return;
    }
  }
  if (path === "/token" && mode.foreign_key) {
    // Capture the mock's answer and re-sign its ID token with a key that
    // is not in the JWKS.
    const chunks = [];
    const realWrite = res.write.bind(res);
    const realEnd = res.end.bind(res);
    const realSetHeader = res.setHeader.bind(res);
    res.setHeader = (name, value) => (name.toLowerCase() === "content-length" ? res : realSetHeader(name, value));
    res.write = (chunk) => {
      chunks.push(Buffer.from(chunk));
      return true;
    };
    res.end = (chunk) => {
      if (chunk) chunks.push(Buffer.from(chunk));
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      const finish = async () => {
        if (body.id_token) body.id_token = await resign(body.id_token);
        realEnd(JSON.stringify(body));
      };
      finish();
      return res;
    };
  }
  handler(req, res);
});

server.listen(port, "127.0.0.1", () => {
  console.log(`oidc provider listening on ${issuer.url}`);
});

process.on("SIGTERM", () => server.close(() => process.exit(0)));
