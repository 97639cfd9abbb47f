use p256::ecdsa::signature::Signer;
use rand_core::OsRng;

use crate::jws::{self, Header};
use crate::{ALGORITHM, Claims, Jwk, TOKEN_TYPE};

/// A P-256 private key that signs tokens, named by its public key's thumbprint.
#[derive(Clone)]
pub struct SigningKey {
    key: p256::ecdsa::SigningKey,
    public: Jwk,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.kid())
    }
}

impl SigningKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Self {
        Self::from(p256::ecdsa::SigningKey::random(&mut OsRng))
    }

    /// The key whose secret scalar is these 32 bytes (as [`Self::secret_bytes`] gave).
    pub fn from_secret_bytes(bytes: &[u8]) -> Option<Self> {
        p256::ecdsa::SigningKey::from_slice(bytes)
            .ok()
            .map(Self::from)
    }

    /// The secret scalar, for keeping the key in a store. Never publish it.
    pub fn secret_bytes(&self) -> Vec<u8> {
        self.key.to_bytes().to_vec()
    }

    pub fn kid(&self) -> &str {
        self.public.kid.as_deref().unwrap_or_default()
    }

    /// The public half, as the JWKS lists it.
    pub fn jwk(&self) -> &Jwk {
        &self.public
    }

    /// `claims` as a signed compact JWT.
    pub fn sign(&self, claims: &Claims) -> String {
        let header = Header {
            alg: ALGORITHM.into(),
            typ: TOKEN_TYPE.into(),
            kid: self.kid().to_owned(),
        };
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        jws::encode(&header, &payload, |signed| self.key.sign(signed))
    }
}

impl From<p256::ecdsa::SigningKey> for SigningKey {
    fn from(key: p256::ecdsa::SigningKey) -> Self {
        let public = Jwk::from_key(key.verifying_key());
        Self { key, public }
    }
}
