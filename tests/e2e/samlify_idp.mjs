// An independent SAML IdP for the tests: samlify (npm), steered from
// pytest through argv/stdin JSON. Commands:
//   metadata  {entity_id, cert, key, sso_url}          → IdP metadata XML
//   respond   {entity_id, cert, key, sso_url, sp_metadata, user, relay_state?}
//             → an IdP-initiated (unsolicited) base64 SAMLResponse for the
//               SP of `sp_metadata`, its assertion encrypted with `encrypt`.
import * as saml from "samlify";

// The IdP parses no requests here; samlify insists on a validator anyway.
saml.setSchemaValidator({ validate: () => Promise.resolve("skipped") });

const POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
const REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";

function identityProvider(args) {
  // samlify encrypts when the IdP's own setting says so, for the SP's
  // encryption certificate from its metadata.
  return saml.IdentityProvider({
    isAssertionEncrypted: Boolean(args.encrypt),
    entityID: args.entity_id,
    signingCert: args.cert,
    privateKey: args.key,
    encryptCert: args.cert,
    encPrivateKey: args.key,
    wantAuthnRequestsSigned: false,
    singleSignOnService: [
      { Binding: REDIRECT, Location: args.sso_url },
      { Binding: POST, Location: args.sso_url },
    ],
    requestSignatureAlgorithm: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    dataEncryptionAlgorithm: "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
    keyEncryptionAlgorithm: "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
  });
}

async function main() {
  const command = process.argv[2];
  const args = JSON.parse(await new Promise((resolve) => {
    let text = "";
    process.stdin.on("data", (d) => (text += d));
    process.stdin.on("end", () => resolve(text));
  }));
  const idp = identityProvider(args);
  if (command === "metadata") {
    process.stdout.write(idp.getMetadata());
    return;
  }
  if (command === "respond") {
    const sp = saml.ServiceProvider({ metadata: args.sp_metadata, wantAssertionsSigned: true });
    const { context } = await idp.createLoginResponse(sp, null, "post", args.user, undefined, false, args.relay_state);
    process.stdout.write(context);
    return;
  }
  throw new Error(`unknown command ${command}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
