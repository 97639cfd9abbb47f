use serde::{Deserialize, Serialize};

/// What a token says. Names follow OpenID Connect where one exists (`phone_number`,
/// `phone_number_verified`, `auth_time`, `amr`, `nonce`) and Cloudflare Turnstile
/// for the host's own values (`action`, `cdata`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The phone-verify server's public URL.
    pub iss: String,
    /// The sitekey of the site the widget was embedded for.
    pub aud: String,
    /// The verified number, E.164.
    pub sub: String,
    /// The verified number, E.164 (the same as `sub`).
    pub phone_number: String,
    pub phone_number_verified: bool,
    /// How the code reached the person: `["sms"]` or `["tel"]` (a voice call).
    pub amr: Vec<String>,
    /// Unix seconds when the code was accepted.
    pub auth_time: u64,
    pub iat: u64,
    pub nbf: u64,
    pub exp: u64,
    /// This token's id; a token is good for one use.
    pub jti: String,
    /// The verification's id, shared by the tokens re-issued for it.
    pub vid: String,
    /// The origin of the page the widget was embedded in, when it is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The host's `action` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The host's `cdata` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cdata: Option<String>,
    /// The host's `nonce` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The host's own reference, given when its backend created the session.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}
