//! Who is asking, as far as the use cases care.
use crate::i18n::Lang;
use crate::server::limits::SiteBudget;
use crate::server::session::VerifySession;

/// The visitor behind a request.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    /// Who is asking, as the per-IP limit counts them (see `limits::client_key`).
    pub client: String,
    /// What the browser says about its language (`Accept-Language`), capped.
    pub accept_language: String,
    /// A language chosen with the switch (`?lang=` on the page's address).
    pub chosen_lang: Option<Lang>,
    /// The embedding site's key, for a widget framed by a site (logs and spans).
    pub sitekey: Option<String>,
    /// The embedding site's budget, for a widget framed by a site that has one.
    pub site: Option<SiteBudget>,
}

impl Caller {
    /// The switch's choice, else the session's, else the browser's, else English.
    pub fn lang(&self, stored: &VerifySession) -> Lang {
        self.chosen_lang
            .or(stored.lang)
            .or_else(|| Lang::from_accept_language(&self.accept_language))
            .unwrap_or_default()
    }

    pub fn site_key(&self) -> Option<&str> {
        self.sitekey.as_deref()
    }
}
