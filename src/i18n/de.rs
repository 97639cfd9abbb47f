use super::Texts;
use crate::verify::{Channel, CodeProblem, PhoneProblem, VerifyError};

pub const TEXTS: Texts = Texts {
    widget_label: "Telefonnummer bestätigen",
    loading: "Wird geladen …",
    language: "Sprache",

    phone_title: "Telefonnummer bestätigen",
    phone_label: "Telefonnummer",
    phone_hint: "Wähle dein Land und gib deine Nummer ein. Wir schicken dir einen Code.",
    locked_lead: "Wir schicken einen Code an die Nummer deines Kontos:",
    country_label: "Land",
    country_search: "Land oder Vorwahl suchen",
    country_none: "Kein Land gefunden.",
    country_count: |n| match n {
        1 => "1 Land".into(),
        n => format!("{n} Länder"),
    },
    send_by: "Code senden per",
    text_me: "SMS",
    call_me: "Anruf",
    send_code: "Code senden",

    code_title: "Code eingeben",
    code_lead: |channel, digits| match channel {
        Channel::Sms => (
            format!("Wir haben einen {digits}-stelligen Code per SMS an "),
            " gesendet.".into(),
        ),
        Channel::Voice => (
            "Wir rufen jetzt ".into(),
            format!(" an. Eine Stimme liest dir deinen {digits}-stelligen Code vor."),
        ),
    },
    code_label: "Code",
    code_expires_in: |secs| match secs.div_ceil(60) {
        1 => "Der Code gilt noch 1 Minute.".into(),
        minutes => format!("Der Code gilt noch {minutes} Minuten."),
    },
    code_expired: "Dieser Code ist abgelaufen. Fordere einen neuen an.",
    tries_left: |n| match n {
        1 => "Noch 1 Versuch.".into(),
        n => format!("Noch {n} Versuche."),
    },
    verify: "Bestätigen",
    resend: "Code erneut senden",
    resend_in: |secs| format!("Erneut senden in {}:{:02}", secs / 60, secs % 60),
    resend_ready: "Du kannst jetzt einen neuen Code anfordern.",
    resend_soon: |secs| format!("In {secs} Sekunden kannst du einen neuen Code anfordern."),
    call_instead: "Stattdessen anrufen",
    change_number: "Nummer ändern",
    dev_note: (
        "Entwicklungsmodus: Codes landen im ",
        "Dev-Postausgang",
        ", nicht auf einem Telefon.",
    ),

    verified_title: "Telefonnummer bestätigt",
    verified_lead: " ist bestätigt.",
    verify_another: "Andere Nummer bestätigen",

    error: message,
    sms_template: "Dein phone-verify-Code lautet %token.",
    voice_template: "Dein Sicherheitscode lautet %token.",
};

fn message(error: &VerifyError) -> String {
    match error {
        VerifyError::InvalidPhone(PhoneProblem::Empty) => "Gib deine Telefonnummer ein.".into(),
        VerifyError::InvalidPhone(PhoneProblem::NotANumber) => {
            "Das sieht nicht nach einer Telefonnummer aus. Bitte nur Ziffern verwenden.".into()
        }
        VerifyError::InvalidPhone(PhoneProblem::MissingCountryCode) => {
            "Wähle dein Land oder beginne die Nummer mit + und der Landesvorwahl.".into()
        }
        VerifyError::InvalidPhone(PhoneProblem::Invalid) => {
            "Diese Nummer ist für ihr Land ungültig. Prüfe die Ziffern und das Land.".into()
        }
        VerifyError::InvalidCode(CodeProblem::Empty) => {
            "Gib den Code ein, den wir dir geschickt haben.".into()
        }
        VerifyError::InvalidCode(CodeProblem::NotDigits) => {
            "Der Code besteht nur aus Ziffern.".into()
        }
        VerifyError::InvalidCode(CodeProblem::WrongLength { expected }) => {
            format!("Der Code hat {expected} Ziffern.")
        }
        VerifyError::WrongCode { tries_left: 1 } => {
            "Dieser Code stimmt nicht. Du hast noch 1 Versuch.".into()
        }
        VerifyError::WrongCode { tries_left } => {
            format!("Dieser Code stimmt nicht. Du hast noch {tries_left} Versuche.")
        }
        VerifyError::CodeExpired => "Dieser Code ist abgelaufen. Fordere einen neuen an.".into(),
        VerifyError::TooManyAttempts => {
            "Zu viele falsche Codes. Fordere einen neuen Code an, um es erneut zu versuchen.".into()
        }
        VerifyError::NoVerificationInProgress => {
            "Es wartet kein Code auf Prüfung. Gib deine Nummer ein, um einen zu erhalten.".into()
        }
        VerifyError::ResendTooSoon { retry_after: 1 } => {
            "Bitte warte 1 Sekunde, bevor du einen neuen Code anforderst.".into()
        }
        VerifyError::ResendTooSoon { retry_after } => {
            format!("Bitte warte {retry_after} Sekunden, bevor du einen neuen Code anforderst.")
        }
        VerifyError::RateLimited { retry_after } => match retry_after {
            0..=90 => format!(
                "Zu viele Versuche. Bitte warte {retry_after} Sekunden und versuche es erneut."
            ),
            secs => format!(
                "Zu viele Versuche. Bitte warte {} Minuten und versuche es erneut.",
                secs.div_ceil(60)
            ),
        },
        VerifyError::NumberUnreachable => {
            "An diese Nummer können wir keine Codes senden. Prüfe sie oder nimm eine andere.".into()
        }
        VerifyError::LandlineNeedsCall => {
            "Das sieht nach einem Festnetzanschluss aus, der keine SMS empfängt. Wähle stattdessen „Anruf“."
                .into()
        }
        VerifyError::CountryNotAllowed => {
            "An Nummern aus diesem Land können wir keine Codes senden.".into()
        }
        VerifyError::ChannelUnavailable => {
            "Dieser Weg ist gerade nicht verfügbar. Bitte wähle den anderen.".into()
        }
        VerifyError::ServiceUnavailable => {
            "Wir können gerade keine Codes senden. Bitte versuche es in ein paar Minuten erneut."
                .into()
        }
        VerifyError::ServiceBusy { retry_after } => format!(
            "Wir können gerade keine Codes senden. Bitte versuche es in {retry_after} Sekunden erneut."
        ),
        VerifyError::UpstreamError => {
            "Der Bestätigungsdienst hatte ein Problem. Bitte versuche es gleich noch einmal.".into()
        }
        VerifyError::UpstreamTimeout => {
            "Der Bestätigungsdienst antwortet nicht rechtzeitig. Bitte versuche es erneut.".into()
        }
        VerifyError::CrossSiteRequest => {
            "Diese Anfrage kam von einer anderen Website und wurde blockiert. Lade die Seite neu."
                .into()
        }
        VerifyError::UnknownSite => {
            "Diese Website ist nicht für die Telefonbestätigung eingerichtet.".into()
        }
        VerifyError::OriginNotAllowed => {
            "Die Telefonbestätigung ist auf dieser Seite nicht erlaubt.".into()
        }
        VerifyError::SessionLost => {
            "Diese Bestätigung ist abgelaufen. Lade die Seite neu, um neu zu beginnen.".into()
        }
        VerifyError::Internal => {
            "Bei uns ist etwas schiefgegangen. Bitte versuche es erneut.".into()
        }
        VerifyError::Transport(_) => {
            "Der Server ist nicht erreichbar. Prüfe deine Verbindung und versuche es erneut.".into()
        }
    }
}
