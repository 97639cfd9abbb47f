//! What the server functions answer besides a [`Step`](crate::verify::Step).
use serde::{Deserialize, Serialize};

use crate::i18n::Lang;
use crate::verify::{CountryOption, PhoneProblem, Step, VerifyError};

/// What a page load needs: the step, plus the error of a form posted without
/// JavaScript, which the server keeps for one render.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    pub step: Step,
    pub error: Option<VerifyError>,
    /// Codes go to the development outbox (the built-in local provider), so the
    /// widget can say where to read them.
    pub dev_outbox: bool,
    /// The language the visitor reads, hears and gets the SMS in.
    pub lang: Lang,
    /// The country picker's list, named in `lang`. Empty in the page's own copy
    /// (`page_flow`): the page carries the list as the select's options.
    pub countries: Vec<CountryOption>,
}

/// A number being typed, as the server reads it (see [`format_phone`](super::format_phone)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormattedPhone {
    /// The number laid out for reading (`07400 123456`, `+49 151 23456789`); empty
    /// while it is not yet a valid number.
    pub formatted: String,
    /// The country the number belongs to, when it names one (`+49…` → `DE`).
    pub country: String,
    /// Why it is not a valid number yet; `None` once it is.
    pub problem: Option<PhoneProblem>,
}
