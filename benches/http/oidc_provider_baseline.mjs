// node oidc-provider configured like tmi-auth's machine path: the
// client_credentials grant issuing ES256-signed JWT access tokens (client
// `bench`), and introspection. oidc-provider does not introspect JWT access
// tokens, so client `bench-opaque` gets opaque ones (an in-memory lookup) to
// introspect. Usage: node oidc_provider_baseline.mjs PORT
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-es256', alg: 'ES256', use: 'sig' };

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
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider on ${issuer}`));
