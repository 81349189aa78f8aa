//! One error type whose variants name the broken rule. The mapping to an
//! HTTP status and the spec's `Error` body is [`crate::http`]'s, in one place.
//!
//! Descriptions come from a fixed vocabulary: they name a parameter or a
//! rule, never echo what the client sent, and never carry internal details
//! or secrets (those go to the operator's log through [`AuthError::diagnostic`]).

use thiserror::Error;

use crate::ports::{KeyringError, StoreError};

/// Why a request was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// Malformed or missing parameters (RFC 6749 `invalid_request`).
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// A code, verifier, refresh token or redirect_uri that does not check out.
    #[error("invalid_grant: {0}")]
    InvalidGrant(GrantRule),
    /// Client authentication failed (RFC 6749 §5.2: 401).
    #[error("invalid_client: {0}")]
    InvalidClient(ClientRule),
    /// A grant type this server does not serve.
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    /// A scope that cannot be granted.
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// A missing, malformed, expired or revoked bearer token (RFC 6750).
    #[error("invalid_token: {0}")]
    InvalidToken(TokenRule),
    /// A SAML Response failed a check at the ACS: it authenticates no one.
    #[error("access_denied: {0}")]
    AccessDenied(SamlRule),
    /// A SAML LogoutRequest failed a check (single logout answers 400).
    #[error("invalid_request: {0}")]
    LogoutRefused(SamlRule),
    /// Authenticated, but not allowed.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// No such resource.
    #[error("not_found: {0}")]
    NotFound(String),
    /// The path exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed(&'static str),
    /// The body is larger than this endpoint accepts.
    #[error("payload too large")]
    PayloadTooLarge,
    /// A rate limit or a client lockout: come back after `retry_after` seconds.
    #[error("rate limited")]
    TooManyRequests {
        /// Seconds until the client may try again.
        retry_after: u64,
        /// The limit that was hit, for the `X-RateLimit-*` headers.
        limit: Option<RateState>,
    },
    /// The store or keyring is out of reach: try again later.
    #[error("temporarily_unavailable: {0}")]
    Unavailable(String),
    /// An upstream identity provider failed (502); the detail is for the log.
    #[error("upstream_error: {0}")]
    Upstream(UpstreamFailure),
    /// The configuration does not parse. Our host refuses to start on it;
    /// Spin starts nothing before the first request, so it surfaces here:
    /// 503 naming the setting, its reason for the log only.
    #[error("{0}")]
    Misconfigured(crate::values::ConfigError),
    /// A bug or misconfiguration: the detail is for the log only.
    #[error("server_error: {0}")]
    Internal(String),
}

/// Why a code or refresh token was refused (`invalid_grant`).
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum GrantRule {
    /// Unknown, expired or already redeemed.
    #[error("the authorization code is invalid, expired or already used")]
    CodeInvalid,
    /// Redeemed before: the first redemption's session has been revoked.
    #[error("the authorization code is invalid, expired or already used")]
    CodeReused,
    /// `redirect_uri` is not the client callback of the authorization request.
    #[error("redirect_uri does not match the authorization request")]
    RedirectUriMismatch,
    /// `state` is not the client's state of the authorization request.
    #[error("state does not match the authorization request")]
    StateMismatch,
    /// The code was issued for another identity provider.
    #[error("the code was not issued for this idp")]
    IdpMismatch,
    /// The PKCE verifier does not hash to the challenge (RFC 7636 §4.6).
    #[error("code_verifier does not match the code_challenge")]
    VerifierMismatch,
    /// Unknown, expired or revoked refresh token.
    #[error("the refresh token is invalid, expired or revoked")]
    RefreshInvalid,
    /// A rotated refresh token came back: the session is revoked (RFC 9700 §4.14.2).
    #[error("the refresh token was already used; the session has been revoked")]
    RefreshReused,
    /// The upstream provider refused its own code.
    #[error("the identity provider refused the authorization code")]
    UpstreamCodeRefused,
    /// This provider's codes cannot be exchanged at our token endpoint.
    #[error("this provider's codes cannot be exchanged directly")]
    NotExchangeable,
    /// A provider-neutral exchange named a redirect_uri we would not send codes to.
    #[error("redirect_uri is not an allowed callback URL")]
    RedirectUriNotAllowed,
    /// Not a code of the test provider.
    #[error("not a test provider code")]
    NotATestCode,
}

/// Why client authentication failed (`invalid_client`).
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum ClientRule {
    /// No client credentials at all.
    #[error("client_id and client_secret are required")]
    Missing,
    /// `Authorization: Basic` that does not decode.
    #[error("malformed Basic credentials")]
    MalformedBasic,
    /// Unknown client, wrong secret or expired credential: one answer for all.
    #[error("client authentication failed")]
    Failed,
    /// The credential's owner was deleted.
    #[error("the credential's owner no longer exists")]
    OwnerGone,
}

/// Why a bearer token was refused (`invalid_token`).
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum TokenRule {
    /// No Authorization header.
    #[error("missing bearer token")]
    Missing,
    /// Not `Bearer <token>`.
    #[error("malformed Authorization header")]
    MalformedHeader,
    /// Longer than any token we issue.
    #[error("token too long")]
    TooLong,
    /// Not a JWS of ours in form.
    #[error("malformed token")]
    Malformed,
    /// `alg` names no algorithm we sign with (`none` included).
    #[error("unsupported algorithm")]
    UnsupportedAlgorithm,
    /// No `kid` header.
    #[error("token has no kid")]
    NoKeyId,
    /// The keyring does not verify it (unknown kid, other algorithm, bad signature).
    #[error("invalid signature")]
    BadSignature,
    /// `iss` or `aud` is not ours.
    #[error("token is not for this service")]
    WrongAudience,
    /// Past `exp`.
    #[error("token has expired")]
    Expired,
    /// Before `nbf`.
    #[error("token is not yet valid")]
    NotYetValid,
    /// Revoked: the token, its session, or its client credential.
    #[error("token has been revoked")]
    Revoked,
    /// The token's user no longer exists.
    #[error("unknown user")]
    UnknownUser,
}

/// Why a SAML message was refused: each check of CONTRACT.md by name.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum SamlRule {
    /// Required elements are missing or repeated.
    #[error("the message does not have the structure SAML requires")]
    Malformed,
    /// Some `ID` occurs twice (a signature wrapping tell).
    #[error("an ID occurs twice in the message")]
    DuplicateIds,
    /// Not SAML 2.0.
    #[error("the message is not SAML 2.0")]
    Version,
    /// More or less than one Assertion or EncryptedAssertion in the whole Response.
    #[error("the Response must carry exactly one assertion")]
    AssertionCount,
    /// Neither the Response nor the Assertion is signed.
    #[error("neither the Response nor the Assertion is signed")]
    Unsigned,
    /// A signature check failed.
    #[error("signature: {0}")]
    Signature(DsigRule),
    /// The encrypted assertion cannot be read (one answer: no decryption oracle).
    #[error("the encrypted assertion cannot be decrypted with the SP key")]
    Undecryptable,
    /// The encryption algorithm is not one we accept.
    #[error("unsupported encryption algorithm: {0}")]
    UnsupportedEncryption(EncryptionAlgorithm),
    /// The decrypted element is not an Assertion.
    #[error("the encrypted element is not an Assertion")]
    EncryptedNotAssertion,
    /// No Issuer where one is required.
    #[error("the Issuer is missing")]
    IssuerMissing,
    /// An Issuer with a Format other than entity.
    #[error("the Issuer is not an entity ID")]
    IssuerNotEntity,
    /// Issued by another IdP.
    #[error("the message was issued by another IdP")]
    IssuerMismatch,
    /// Destination is not our endpoint.
    #[error("the Destination is not this endpoint")]
    DestinationMismatch,
    /// A time attribute is not a UTC xs:dateTime.
    #[error("a time attribute is not a valid UTC time")]
    TimeMalformed,
    /// No IssueInstant.
    #[error("the IssueInstant is missing")]
    IssueInstantMissing,
    /// IssueInstant too old or in the future.
    #[error("the IssueInstant is outside the allowed window")]
    IssueInstantOutsideWindow,
    /// Status is not Success.
    #[error("the IdP did not authenticate the user (status is not Success)")]
    StatusNotSuccess,
    /// No assertion ID.
    #[error("the Assertion has no ID")]
    AssertionIdMissing,
    /// A NotBefore (or IssueInstant) lies beyond the skew in the future.
    #[error("the assertion is not valid yet")]
    NotYetValid,
    /// A NotOnOrAfter has passed beyond the skew.
    #[error("the assertion has expired")]
    Expired,
    /// No bearer SubjectConfirmation.
    #[error("the Subject has no bearer SubjectConfirmation")]
    NoBearerConfirmation,
    /// The bearer confirmation's Recipient is not our ACS.
    #[error("the SubjectConfirmation's Recipient is not this ACS")]
    RecipientMismatch,
    /// The bearer confirmation has no NotOnOrAfter.
    #[error("the SubjectConfirmationData has no NotOnOrAfter")]
    ConfirmationUnbounded,
    /// The Response's and the assertion's InResponseTo differ.
    #[error("the InResponseTo of the Response and the Assertion differ")]
    InResponseToDisagree,
    /// No AudienceRestriction.
    #[error("the Assertion has no AudienceRestriction")]
    NoAudienceRestriction,
    /// Meant for another SP.
    #[error("the Assertion is meant for another audience")]
    AudienceMismatch,
    /// The subject identifier is empty or malformed.
    #[error("the assertion's subject identifier is empty or malformed")]
    SubjectMalformed,
    /// No email address attribute (nor an email NameID).
    #[error("the assertion carries no email address")]
    NoEmail,
    /// The email address is malformed.
    #[error("the assertion's email address is malformed")]
    EmailMalformed,
    /// InResponseTo names no pending request of ours.
    #[error("InResponseTo matches no pending request")]
    UnknownRequest,
    /// The RelayState belongs to another request.
    #[error("RelayState does not belong to this request")]
    RelayStateMismatch,
    /// The request was answered before.
    #[error("the request has already been answered")]
    RequestAnswered,
    /// The validated InResponseTo is not the pending request's ID.
    #[error("InResponseTo does not match a pending request")]
    InResponseToMismatch,
    /// The request's provider is no longer enabled.
    #[error("the provider is no longer enabled")]
    ProviderDisabled,
    /// No configured provider has this IdP and SP.
    #[error("the Response is from no configured IdP, or for no configured SP")]
    UnknownProvider,
    /// IdP-initiated login is off for this provider.
    #[error("unsolicited (IdP-initiated) Responses are not accepted for this provider")]
    UnsolicitedRefused,
    /// The assertion was used before.
    #[error("the assertion has been used before")]
    AssertionReplayed,
    /// A LogoutRequest without a signature.
    #[error("the LogoutRequest must be signed")]
    LogoutUnsigned,
    /// A LogoutRequest no configured IdP signed.
    #[error("the LogoutRequest is not signed by a configured IdP")]
    LogoutSignatureInvalid,
    /// A LogoutRequest with no ID.
    #[error("the LogoutRequest has no ID")]
    LogoutIdMissing,
    /// A LogoutRequest whose IssueInstant is outside the skew.
    #[error("the LogoutRequest is not fresh (IssueInstant)")]
    LogoutStale,
    /// A LogoutRequest used before.
    #[error("the LogoutRequest has been used before")]
    LogoutReplayed,
}

/// Why an XML signature was refused.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum DsigRule {
    /// Missing, repeated or undecodable signature parts.
    #[error("the signature is malformed")]
    Malformed,
    /// More than one signature on one element.
    #[error("more than one signature on an element")]
    MultipleSignatures,
    /// The signed element has no ID to reference.
    #[error("the signed element has no ID")]
    NoId,
    /// Elements XML-DSig allows but SAML does not need (Object, Manifest, …).
    #[error("the signature holds an unexpected element")]
    UnexpectedElement,
    /// SignedInfo not canonicalised with exclusive C14N.
    #[error("SignedInfo must use exclusive canonicalisation")]
    NotExclusiveC14n,
    /// A signature or digest algorithm we do not accept.
    #[error("unsupported signature or digest algorithm")]
    UnsupportedAlgorithm,
    /// SHA-1 where the provider does not allow it.
    #[error("SHA-1 is not accepted")]
    Sha1Refused,
    /// The reference is not `#` + the signed element's own ID.
    #[error("the signature does not reference the element it is in")]
    ReferenceMismatch,
    /// Transforms other than enveloped-signature and exclusive C14N.
    #[error("only the enveloped-signature and exclusive C14N transforms are accepted")]
    TransformsRefused,
    /// The content changed after signing.
    #[error("the digest does not match: the signed element was changed")]
    DigestMismatch,
    /// The signature value does not verify with the IdP's certificates.
    #[error("the signature does not verify with the IdP's certificates")]
    SignatureInvalid,
}

/// An XML Encryption algorithm that is refused, named (it reveals nothing
/// about the ciphertext).
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum EncryptionAlgorithm {
    /// RSA PKCS#1 v1.5 key transport (Bleichenbacher).
    #[error("rsa-1_5 key transport is refused; use RSA-OAEP")]
    Rsa15,
    /// Any other key transport.
    #[error("the key transport algorithm is not supported; use RSA-OAEP")]
    KeyTransport,
    /// A content cipher other than AES-CBC / AES-GCM.
    #[error("the content encryption algorithm is not supported; use AES-CBC or AES-GCM")]
    Content,
}

/// An upstream provider's failure: which provider, and which rule broke.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("provider {provider}: {rule}")]
pub struct UpstreamFailure {
    /// The provider id.
    pub provider: String,
    /// What went wrong.
    pub rule: UpstreamRule,
}

/// What an upstream provider did wrong (for the log; the client sees 502).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum UpstreamRule {
    /// The host refused the destination (`allowed_outbound_hosts`).
    #[error("{0}: outbound request denied by the host (allowed_outbound_hosts)")]
    Denied(String),
    /// No answer in time.
    #[error("{0}: timed out")]
    TimedOut(String),
    /// Connection failed.
    #[error("{0}: unreachable: {1}")]
    Unreachable(String, String),
    /// An unexpected HTTP status.
    #[error("{0}: HTTP {1}")]
    Status(String, u16),
    /// The token endpoint refused with an OAuth error.
    #[error("{endpoint}: HTTP {status}, error {error:?}, description {description:?}")]
    Refused {
        /// Which endpoint.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// The provider's `error`.
        error: Option<String>,
        /// The provider's `error_description`.
        description: Option<String>,
    },
    /// A body that is not JSON.
    #[error("{0}: HTTP {1} with a body that is not JSON")]
    NotJson(String, u16),
    /// A JSON document of the wrong shape.
    #[error("the {0} is not a JSON object")]
    NotAnObject(&'static str),
    /// Discovery names another issuer.
    #[error("the discovery document names another issuer")]
    DiscoveryIssuerMismatch,
    /// Discovery lacks an endpoint.
    #[error("discovery has no {0}")]
    DiscoveryMissing(&'static str),
    /// The authorization endpoint is not a URL.
    #[error("the authorization endpoint is not a URL")]
    AuthorizationEndpointNotUrl,
    /// No access token in the token response.
    #[error("the token response has no access_token")]
    NoAccessToken,
    /// An OIDC provider sent no ID token.
    #[error("the token response has no id_token")]
    NoIdToken,
    /// The ID token failed a check.
    #[error("ID token: {0}")]
    IdToken(IdTokenRule),
    /// Userinfo names another subject than the ID token.
    #[error("userinfo sub differs from the ID token's")]
    UserinfoSubjectMismatch,
    /// No subject claim.
    #[error("no subject claim")]
    NoSubject,
    /// The subject claim is too long.
    #[error("the subject is too long")]
    SubjectTooLong,
    /// No email claim (GitHub: no verified primary address).
    #[error("no email claim")]
    NoEmail,
    /// The `iss` callback parameter is not the provider's (RFC 9207).
    #[error("the callback's iss is not the provider's issuer (RFC 9207)")]
    CallbackIssuerMismatch,
}

/// Why an upstream ID token was refused.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum IdTokenRule {
    /// Not three base64url parts.
    #[error("not a compact JWS")]
    NotCompactJws,
    /// Header or claims do not decode.
    #[error("the header or claims are malformed")]
    Malformed,
    /// `none`, HS* or anything we never accept.
    #[error("the algorithm is not accepted")]
    AlgorithmRefused,
    /// An algorithm this provider does not use.
    #[error("the algorithm is not allowed for this provider")]
    AlgorithmNotAllowed,
    /// The JWKS has no keys array.
    #[error("the JWKS has no keys array")]
    NoJwks,
    /// The `kid` is not in the provider's JWKS (after one refetch).
    #[error("the kid is not in the provider's JWKS")]
    UnknownKid,
    /// No kid and not exactly one key.
    #[error("no kid and the JWKS does not hold exactly one key")]
    AmbiguousKey,
    /// The JWK is unusable.
    #[error("the JWK is malformed")]
    KeyMalformed,
    /// An RSA key under 2048 bits.
    #[error("the RSA key is shorter than 2048 bits")]
    KeyTooShort,
    /// The signature does not verify.
    #[error("the signature does not verify")]
    SignatureInvalid,
    /// `iss` missing or not the provider's.
    #[error("iss is not the provider's issuer")]
    IssuerMismatch,
    /// `aud` missing or without our client id.
    #[error("aud does not contain our client id")]
    AudienceMismatch,
    /// `azp` is someone else, or missing with several audiences.
    #[error("azp is missing or not our client id")]
    AuthorizedPartyMismatch,
    /// `exp` missing or passed.
    #[error("the token has expired (or has no exp)")]
    Expired,
    /// `iat` missing or in the future.
    #[error("iat is missing or in the future")]
    IssuedInFuture,
    /// `nbf` in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `nonce` is not the login's.
    #[error("the nonce does not match the login's nonce")]
    NonceMismatch,
    /// `nonce` was used by an earlier login.
    #[error("the nonce was already used")]
    NonceReused,
}

/// Where a client stands against one rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateState {
    /// Requests allowed per window.
    pub limit: u64,
    /// Requests left in this window.
    pub remaining: u64,
    /// When the window resets (seconds since the epoch).
    pub reset: u64,
}

impl RateState {
    /// The `X-RateLimit-*` headers.
    pub fn headers(&self) -> [(&'static str, String); 3] {
        [
            ("x-ratelimit-limit", self.limit.to_string()),
            ("x-ratelimit-remaining", self.remaining.to_string()),
            ("x-ratelimit-reset", self.reset.to_string()),
        ]
    }
}

impl From<StoreError> for AuthError {
    fn from(e: StoreError) -> Self {
        AuthError::Unavailable(e.0)
    }
}

impl From<KeyringError> for AuthError {
    fn from(e: KeyringError) -> Self {
        match e {
            KeyringError::UnknownKey => AuthError::Internal("signing key not in keyring".into()),
            KeyringError::Unavailable(m) => AuthError::Unavailable(format!("keyring: {m}")),
        }
    }
}

impl AuthError {
    /// An upstream failure of `provider`.
    pub fn upstream(provider: &str, rule: UpstreamRule) -> Self {
        AuthError::Upstream(UpstreamFailure { provider: provider.to_string(), rule })
    }

    /// The HTTP status for this error.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::InvalidRequest(_)
            | AuthError::InvalidGrant(_)
            | AuthError::UnsupportedGrantType
            | AuthError::InvalidScope(_)
            | AuthError::LogoutRefused(_) => 400,
            AuthError::InvalidClient(_) | AuthError::InvalidToken(_) | AuthError::AccessDenied(_) => 401,
            AuthError::Forbidden(_) => 403,
            AuthError::NotFound(_) => 404,
            AuthError::MethodNotAllowed(_) => 405,
            AuthError::PayloadTooLarge => 413,
            AuthError::TooManyRequests { .. } => 429,
            AuthError::Internal(_) => 500,
            AuthError::Upstream(_) => 502,
            AuthError::Unavailable(_) | AuthError::Misconfigured(_) => 503,
        }
    }

    /// The OAuth-style error code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::InvalidRequest(_) | AuthError::LogoutRefused(_) | AuthError::PayloadTooLarge => "invalid_request",
            AuthError::InvalidGrant(_) => "invalid_grant",
            AuthError::InvalidClient(_) => "invalid_client",
            AuthError::UnsupportedGrantType => "unsupported_grant_type",
            AuthError::InvalidScope(_) => "invalid_scope",
            AuthError::InvalidToken(_) => "invalid_token",
            AuthError::AccessDenied(_) => "access_denied",
            AuthError::Forbidden(_) => "forbidden",
            AuthError::NotFound(_) => "not_found",
            AuthError::MethodNotAllowed(_) => "method_not_allowed",
            AuthError::TooManyRequests { .. } => "rate_limit_exceeded",
            AuthError::Unavailable(_) | AuthError::Misconfigured(_) => "temporarily_unavailable",
            AuthError::Upstream(_) => "upstream_error",
            AuthError::Internal(_) => "server_error",
        }
    }

    /// What the client is told. Internal, store and upstream details stay in logs.
    pub fn description(&self) -> String {
        match self {
            AuthError::InvalidRequest(d) | AuthError::InvalidScope(d) | AuthError::Forbidden(d) | AuthError::NotFound(d) => d.clone(),
            AuthError::InvalidGrant(rule) => rule.to_string(),
            AuthError::InvalidClient(rule) => rule.to_string(),
            AuthError::InvalidToken(rule) => rule.to_string(),
            AuthError::AccessDenied(rule) | AuthError::LogoutRefused(rule) => rule.to_string(),
            AuthError::UnsupportedGrantType => "unknown grant_type".into(),
            AuthError::MethodNotAllowed(allow) => format!("method not allowed; use {allow}"),
            AuthError::PayloadTooLarge => "request body too large".into(),
            AuthError::TooManyRequests { retry_after, .. } => format!("too many requests; retry after {retry_after} seconds"),
            AuthError::Unavailable(_) => "the service is temporarily unavailable; retry later".into(),
            AuthError::Misconfigured(e) => format!("the service is not configured correctly (setting {}); the operator must fix it", e.key),
            AuthError::Upstream(_) => "the identity provider could not be reached or gave an unusable answer".into(),
            AuthError::Internal(_) => "internal error".into(),
        }
    }

    /// The operator's detail of a server-side failure (outage, bug,
    /// upstream fault), for the log; `None` for the client's own mistakes.
    pub fn diagnostic(&self) -> Option<String> {
        matches!(self, AuthError::Internal(_) | AuthError::Unavailable(_) | AuthError::Upstream(_) | AuthError::Misconfigured(_))
            .then(|| self.to_string())
    }
}
