//! Where the visitor is: what a page render and the widget's first call show.
use super::{Caller, Verifier};
use crate::i18n::Lang;
use crate::server::session::SessionSlot;
use crate::verify::{Step, VerifyError};

/// The session's step, with the error a form posted without JavaScript left for this
/// render, and the language to show it in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Current {
    pub step: Step,
    pub error: Option<VerifyError>,
    pub lang: Lang,
}

impl Verifier<'_> {
    /// Hands over (and forgets) a pending form error, and remembers a language chosen
    /// with the switch.
    pub async fn current(
        &self,
        slot: &dyn SessionSlot,
        caller: &Caller,
        now: u64,
    ) -> Result<Current, VerifyError> {
        let mut stored = slot.load().await?;
        let error = stored.flash.take();
        let switched = caller.chosen_lang.is_some() && caller.chosen_lang != stored.lang;
        if switched {
            stored.lang = caller.chosen_lang;
        }
        if error.is_some() || switched {
            slot.save(&stored).await?;
        }
        Ok(Current {
            step: self.step(&stored, caller, now),
            error,
            lang: caller.lang(&stored),
        })
    }
}
