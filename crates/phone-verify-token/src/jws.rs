//! Compact JWS with ES256: `base64url(header).base64url(payload).base64url(r || s)`.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::TokenError;

/// A token is a few hundred bytes; anything far bigger is not one.
const MAX_TOKEN_BYTES: usize = 4096;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Header {
    pub alg: String,
    pub typ: String,
    pub kid: String,
}

/// A token split into its parts, signature not yet checked.
pub(crate) struct Parsed<'a> {
    pub header: Header,
    pub signed: &'a str,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

pub(crate) fn parse(token: &str) -> Result<Parsed<'_>, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Malformed);
    }
    let (signed, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let (header, payload) = signed.split_once('.').ok_or(TokenError::Malformed)?;
    let decode = |part: &str| B64.decode(part).map_err(|_| TokenError::Malformed);
    let header: Header =
        serde_json::from_slice(&decode(header)?).map_err(|_| TokenError::Malformed)?;
    Ok(Parsed {
        header,
        signed,
        payload: decode(payload)?,
        signature: decode(signature)?,
    })
}

impl Parsed<'_> {
    pub fn check_signature(&self, key: &VerifyingKey) -> Result<(), TokenError> {
        let signature =
            Signature::from_slice(&self.signature).map_err(|_| TokenError::BadSignature)?;
        key.verify(self.signed.as_bytes(), &signature)
            .map_err(|_| TokenError::BadSignature)
    }
}

#[cfg(feature = "issue")]
pub(crate) fn encode(
    header: &Header,
    payload: &[u8],
    sign: impl FnOnce(&[u8]) -> Signature,
) -> String {
    let header = serde_json::to_vec(header).unwrap_or_default();
    let mut token = format!("{}.{}", B64.encode(header), B64.encode(payload));
    let signature = sign(token.as_bytes());
    token.push('.');
    token.push_str(&B64.encode(signature.to_bytes()));
    token
}
