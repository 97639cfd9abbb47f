use super::Texts;
use crate::verify::{Channel, CodeProblem, PhoneProblem, VerifyError};

pub const TEXTS: Texts = Texts {
    widget_label: "Phone verification",
    loading: "Loading…",
    language: "Language",

    phone_title: "Verify your phone number",
    phone_label: "Phone number",
    phone_hint: "Choose your country, then type your number. We'll send you a code.",
    locked_lead: "We'll send a code to the number on your account:",
    country_label: "Country",
    country_search: "Search countries or codes",
    country_none: "No country matches.",
    country_count: |n| match n {
        1 => "1 country".into(),
        n => format!("{n} countries"),
    },
    send_by: "Send the code by",
    text_me: "Text me",
    call_me: "Call me",
    send_code: "Send code",

    code_title: "Enter the code",
    code_lead: |channel, digits| match channel {
        Channel::Sms => (format!("We texted a {digits}-digit code to "), ".".into()),
        Channel::Voice => (
            "We're calling ".into(),
            format!(" now. A voice will read out your {digits}-digit code."),
        ),
    },
    code_label: "Code",
    code_expires_in: |secs| match secs.div_ceil(60) {
        1 => "The code works for 1 more minute.".into(),
        minutes => format!("The code works for {minutes} more minutes."),
    },
    code_expired: "This code has expired; send a new one.",
    tries_left: |n| match n {
        1 => "1 try left.".into(),
        n => format!("{n} tries left."),
    },
    verify: "Verify",
    resend: "Resend code",
    resend_in: |secs| format!("Resend code in {}:{:02}", secs / 60, secs % 60),
    resend_ready: "You can send a new code now.",
    resend_soon: |secs| format!("You can ask for a new code in {secs} seconds."),
    call_instead: "Call me instead",
    change_number: "Change number",
    dev_note: (
        "Development mode: codes go to the ",
        "dev outbox",
        ", not to a phone.",
    ),

    verified_title: "Phone number verified",
    verified_lead: " is verified.",
    verify_another: "Verify another number",

    error: message,
    sms_template: "Your phone-verify code is %token.",
    voice_template: "Your security code is %token.",
};

fn message(error: &VerifyError) -> String {
    match error {
        VerifyError::InvalidPhone(PhoneProblem::Empty) => "Enter your phone number.".into(),
        VerifyError::InvalidPhone(PhoneProblem::NotANumber) => {
            "That doesn't look like a phone number. Use digits only.".into()
        }
        VerifyError::InvalidPhone(PhoneProblem::MissingCountryCode) => {
            "Choose your country, or start the number with + and its country code.".into()
        }
        VerifyError::InvalidPhone(PhoneProblem::Invalid) => {
            "That number isn't valid for its country. Check the digits and the country.".into()
        }
        VerifyError::InvalidCode(CodeProblem::Empty) => "Enter the code we sent you.".into(),
        VerifyError::InvalidCode(CodeProblem::NotDigits) => "The code is made of digits only.".into(),
        VerifyError::InvalidCode(CodeProblem::WrongLength { expected }) => {
            format!("The code has {expected} digits.")
        }
        VerifyError::WrongCode { tries_left: 1 } => {
            "That code isn't right. You have 1 try left.".into()
        }
        VerifyError::WrongCode { tries_left } => {
            format!("That code isn't right. You have {tries_left} tries left.")
        }
        VerifyError::CodeExpired => "That code has expired. Send a new one.".into(),
        VerifyError::TooManyAttempts => "Too many wrong codes. Send a new code to try again.".into(),
        VerifyError::NoVerificationInProgress => {
            "There is no code waiting to be checked. Enter your number to get one.".into()
        }
        VerifyError::ResendTooSoon { retry_after: 1 } => {
            "Please wait 1 second before asking for another code.".into()
        }
        VerifyError::ResendTooSoon { retry_after } => {
            format!("Please wait {retry_after} seconds before asking for another code.")
        }
        VerifyError::RateLimited { retry_after } => match retry_after {
            0..=90 => format!("Too many attempts. Please wait {retry_after} seconds and try again."),
            secs => format!(
                "Too many attempts. Please wait {} minutes and try again.",
                secs.div_ceil(60)
            ),
        },
        VerifyError::NumberUnreachable => {
            "We can't send codes to this number. Check it, or use another number.".into()
        }
        VerifyError::CountryNotAllowed => "We can't send codes to numbers in that country.".into(),
        VerifyError::LandlineNeedsCall => {
            "This looks like a landline, which can't get texts. Choose \"Call me\" instead.".into()
        }
        VerifyError::ChannelUnavailable => {
            "That way of sending codes isn't available right now. Please choose the other one.".into()
        }
        VerifyError::ServiceUnavailable => {
            "We can't send codes right now. Please try again in a few minutes.".into()
        }
        VerifyError::ServiceBusy { retry_after } => {
            format!("We can't send codes right now. Please try again in {retry_after} seconds.")
        }
        VerifyError::UpstreamError => {
            "The verification service had a problem. Please try again in a moment.".into()
        }
        VerifyError::UpstreamTimeout => {
            "The verification service is taking too long to answer. Please try again.".into()
        }
        VerifyError::CrossSiteRequest => {
            "This request came from another website and was blocked. Reload this page and try again.".into()
        }
        VerifyError::UnknownSite => "This site is not set up for phone verification.".into(),
        VerifyError::OriginNotAllowed => {
            "Phone verification is not allowed on this page.".into()
        }
        VerifyError::SessionLost => {
            "This verification has timed out. Reload the page to start again.".into()
        }
        VerifyError::Internal => "Something went wrong on our side. Please try again.".into(),
        VerifyError::Transport(_) => {
            "We couldn't reach the server. Check your connection and try again.".into()
        }
    }
}
