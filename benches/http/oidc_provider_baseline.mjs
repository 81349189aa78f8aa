// node oidc-provider configured like tmi-auth's machine path: the
// client_credentials grant issuing ES256-signed JWT access tokens (client
// `bench`), and introspection. oidc-provider does not introspect JWT access
// tokens, so client `bench-opaque` gets opaque ones (an in-memory lookup) to
// introspect.
//
// Usage: node oidc_provider_baseline.mjs PORT [--cluster]
//
// --cluster: one worker per core (node's `cluster` module, the primary hands
// connections out round-robin). The workers share the clients (static
// configuration) and the signing key (made by the primary, passed in the
// environment), so a JWT issued by any worker verifies against the same JWKS.
// They do NOT share stored tokens: oidc-provider's default adapter is an LRU
// in each process's own memory, so an opaque token issued by one worker is
// unknown (`active: false`) at the others. Introspection in a cluster needs a
// shared store (Redis, ...), which is not what this baseline measures, so the
// benchmark runs only the grant against the cluster.
import cluster from 'node:cluster';
import { generateKeyPairSync } from 'node:crypto';
import { availableParallelism } from 'node:os';
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const issuer = `http://127.0.0.1:${port}`;

function signingKey() {
  if (process.env.BENCH_JWK) return JSON.parse(process.env.BENCH_JWK);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), kid: 'bench-es256', alg: 'ES256', use: 'sig' };
}

function serve(jwk) {
  const provider = new Provider(issuer, {
    clients: ['bench', 'bench-opaque'].map((client_id) => ({
      client_id,
      client_secret: 'bench-secret-bench-secret-bench-secret-0000',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_post',
      id_token_signed_response_alg: 'ES256',
    })),
    jwks: { keys: [jwk] },
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:tmi:api',
        getResourceServerInfo: (ctx, resource, client) => ({
          scope: '',
          audience: 'urn:tmi:api',
          accessTokenFormat: client.clientId === 'bench' ? 'jwt' : 'opaque',
          jwt: { sign: { alg: 'ES256' } },
        }),
        useGrantedResource: () => true,
      },
    },
  });
  provider.listen(port, '127.0.0.1', () => {
    if (!cluster.isWorker) console.log(`oidc-provider on ${issuer}`);
  });
}

if (process.argv.includes('--cluster') && cluster.isPrimary) {
  const workers = availableParallelism();
  const env = { BENCH_JWK: JSON.stringify(signingKey()) };
  let listening = 0;
  cluster.on('listening', () => {
    listening += 1;
    if (listening === workers) console.log(`oidc-provider cluster of ${workers} workers on ${issuer}`);
  });
  cluster.on('exit', (worker, code, sig) => {
    console.error(`worker ${worker.process.pid} exited (${sig || code}); stopping`);
    process.exit(1);
  });
  for (let i = 0; i < workers; i += 1) cluster.fork(env);
} else {
  serve(signingKey());
}
