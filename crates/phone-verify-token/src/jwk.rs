use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::ecdsa::VerifyingKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{ALGORITHM, TokenError};

/// A P-256 public key as JSON (RFC 7517), as the JWKS publishes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub y: String,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default, rename = "use")]
    pub usage: Option<String>,
    #[serde(default)]
    pub kid: Option<String>,
}

/// `{"keys": […]}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

impl Jwk {
    /// The JWK of `key`, with its RFC 7638 thumbprint as `kid`.
    pub fn from_key(key: &VerifyingKey) -> Self {
        let point = key.to_encoded_point(false);
        let coordinate =
            |c: Option<&p256::FieldBytes>| B64.encode(c.map(|c| c.as_slice()).unwrap_or_default());
        let mut jwk = Self {
            kty: "EC".into(),
            crv: "P-256".into(),
            x: coordinate(point.x()),
            y: coordinate(point.y()),
            alg: Some(ALGORITHM.into()),
            usage: Some("sig".into()),
            kid: None,
        };
        jwk.kid = Some(jwk.thumbprint());
        jwk
    }

    /// RFC 7638: SHA-256 over the required members in lexical order, base64url.
    pub fn thumbprint(&self) -> String {
        let canonical = format!(
            r#"{{"crv":"{}","kty":"{}","x":"{}","y":"{}"}}"#,
            self.crv, self.kty, self.x, self.y
        );
        B64.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// The key, if this is a P-256 signing key.
    ///
    /// # Errors
    /// [`TokenError::UnknownKey`] for any other kind of key or a point off the curve.
    pub fn verifying_key(&self) -> Result<VerifyingKey, TokenError> {
        if self.kty != "EC"
            || self.crv != "P-256"
            || self.alg.as_deref().is_some_and(|a| a != ALGORITHM)
        {
            return Err(TokenError::UnknownKey);
        }
        let coordinate = |text: &str| -> Result<p256::FieldBytes, TokenError> {
            let bytes = B64.decode(text).map_err(|_| TokenError::UnknownKey)?;
            (bytes.len() == 32)
                .then(|| *p256::FieldBytes::from_slice(&bytes))
                .ok_or(TokenError::UnknownKey)
        };
        let point = p256::EncodedPoint::from_affine_coordinates(
            &coordinate(&self.x)?,
            &coordinate(&self.y)?,
            false,
        );
        VerifyingKey::from_encoded_point(&point).map_err(|_| TokenError::UnknownKey)
    }
}

impl JwkSet {
    /// The key named `kid`.
    pub fn find(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|key| key.kid.as_deref() == Some(kid))
    }
}
