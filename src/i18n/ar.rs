use super::Texts;
use crate::verify::{Channel, CodeProblem, PhoneProblem, VerifyError};

// Numbers stay in Western digits: the code the visitor types is made of them.
pub const TEXTS: Texts = Texts {
    widget_label: "التحقق من رقم الهاتف",
    loading: "جارٍ التحميل…",
    language: "اللغة",

    phone_title: "تحقّق من رقم هاتفك",
    phone_label: "رقم الهاتف",
    phone_hint: "اختر بلدك ثم اكتب رقمك. سنرسل إليك رمزًا.",
    locked_lead: "سنرسل رمزًا إلى الرقم المسجّل في حسابك:",
    country_label: "البلد",
    country_search: "ابحث عن بلد أو رمز اتصال",
    country_none: "لا يوجد بلد مطابق.",
    country_count: |n| match n {
        1 => "بلد واحد".into(),
        n => format!("{n} بلدان"),
    },
    send_by: "أرسل الرمز عبر",
    text_me: "رسالة نصية",
    call_me: "مكالمة",
    send_code: "أرسل الرمز",

    code_title: "أدخل الرمز",
    code_lead: |channel, digits| match channel {
        Channel::Sms => (
            format!("أرسلنا رمزًا من {digits} أرقام في رسالة نصية إلى "),
            ".".into(),
        ),
        Channel::Voice => (
            "نتصل الآن بالرقم ".into(),
            format!(". سيقرأ صوت الرمز المكوّن من {digits} أرقام."),
        ),
    },
    code_label: "الرمز",
    code_expires_in: |secs| format!("يبقى الرمز صالحًا {} دقيقة.", secs.div_ceil(60)),
    code_expired: "انتهت صلاحية هذا الرمز؛ اطلب رمزًا جديدًا.",
    tries_left: |n| format!("المحاولات المتبقية: {n}."),
    verify: "تحقّق",
    resend: "أعد إرسال الرمز",
    resend_in: |secs| format!("إعادة الإرسال بعد {}:{:02}", secs / 60, secs % 60),
    resend_ready: "يمكنك الآن طلب رمز جديد.",
    resend_soon: |secs| format!("يمكنك طلب رمز جديد بعد {secs} ثوانٍ."),
    call_instead: "اتصل بي بدلًا من ذلك",
    change_number: "غيّر الرقم",
    dev_note: (
        "وضع التطوير: تُرسل الرموز إلى ",
        "صندوق الصادر التجريبي",
        "، لا إلى هاتف.",
    ),

    verified_title: "تم التحقق من رقم الهاتف",
    verified_lead: " تم التحقق منه.",
    verify_another: "تحقّق من رقم آخر",

    error: message,
    sms_template: "رمز phone-verify الخاص بك هو %token.",
    voice_template: "رمز الأمان الخاص بك هو %token.",
};

fn message(error: &VerifyError) -> String {
    match error {
        VerifyError::InvalidPhone(PhoneProblem::Empty) => "أدخل رقم هاتفك.".into(),
        VerifyError::InvalidPhone(PhoneProblem::NotANumber) => {
            "لا يبدو هذا رقم هاتف. استخدم الأرقام فقط.".into()
        }
        VerifyError::InvalidPhone(PhoneProblem::MissingCountryCode) => {
            "اختر بلدك، أو ابدأ الرقم بـ + ورمز البلد.".into()
        }
        VerifyError::InvalidPhone(PhoneProblem::Invalid) => {
            "هذا الرقم غير صالح في بلده. تحقّق من الأرقام ومن البلد.".into()
        }
        VerifyError::InvalidCode(CodeProblem::Empty) => "أدخل الرمز الذي أرسلناه إليك.".into(),
        VerifyError::InvalidCode(CodeProblem::NotDigits) => "يتكوّن الرمز من أرقام فقط.".into(),
        VerifyError::InvalidCode(CodeProblem::WrongLength { expected }) => {
            format!("يتكوّن الرمز من {expected} أرقام.")
        }
        VerifyError::WrongCode { tries_left } => {
            format!("هذا الرمز غير صحيح. المحاولات المتبقية: {tries_left}.")
        }
        VerifyError::CodeExpired => "انتهت صلاحية هذا الرمز. اطلب رمزًا جديدًا.".into(),
        VerifyError::TooManyAttempts => {
            "محاولات خاطئة كثيرة. اطلب رمزًا جديدًا لتحاول مرة أخرى.".into()
        }
        VerifyError::NoVerificationInProgress => {
            "لا يوجد رمز بانتظار التحقق. أدخل رقمك للحصول على رمز.".into()
        }
        VerifyError::ResendTooSoon { retry_after } => {
            format!("يرجى الانتظار {retry_after} ثانية قبل طلب رمز آخر.")
        }
        VerifyError::RateLimited { retry_after } => match retry_after {
            0..=90 => format!("محاولات كثيرة. يرجى الانتظار {retry_after} ثانية ثم المحاولة مجددًا."),
            secs => format!(
                "محاولات كثيرة. يرجى الانتظار {} دقيقة ثم المحاولة مجددًا.",
                secs.div_ceil(60)
            ),
        },
        VerifyError::NumberUnreachable => {
            "لا يمكننا إرسال رموز إلى هذا الرقم. تحقّق منه أو استخدم رقمًا آخر.".into()
        }
        VerifyError::CountryNotAllowed => "لا يمكننا إرسال رموز إلى أرقام هذا البلد.".into(),
        VerifyError::LandlineNeedsCall => {
            "يبدو أن هذا رقم هاتف أرضي لا يستقبل الرسائل النصية. اختر «مكالمة» بدلًا من ذلك.".into()
        }
        VerifyError::ChannelUnavailable => {
            "طريقة الإرسال هذه غير متاحة الآن. يرجى اختيار الطريقة الأخرى.".into()
        }
        VerifyError::ServiceUnavailable => {
            "لا يمكننا إرسال الرموز الآن. يرجى المحاولة بعد بضع دقائق.".into()
        }
        VerifyError::ServiceBusy { retry_after } => {
            format!("لا يمكننا إرسال الرموز الآن. يرجى المحاولة بعد {retry_after} ثانية.")
        }
        VerifyError::UpstreamError => "واجهت خدمة التحقق مشكلة. يرجى المحاولة بعد قليل.".into(),
        VerifyError::UpstreamTimeout => {
            "تستغرق خدمة التحقق وقتًا طويلًا للرد. يرجى المحاولة مجددًا.".into()
        }
        VerifyError::CrossSiteRequest => {
            "جاء هذا الطلب من موقع آخر وتم حظره. أعد تحميل الصفحة وحاول مجددًا.".into()
        }
        VerifyError::UnknownSite => "هذا الموقع غير مُعدّ للتحقق من رقم الهاتف.".into(),
        VerifyError::OriginNotAllowed => "التحقق من رقم الهاتف غير مسموح به في هذه الصفحة.".into(),
        VerifyError::SessionLost => {
            "انتهت مهلة عملية التحقق هذه. أعد تحميل الصفحة للبدء من جديد.".into()
        }
        VerifyError::Internal => "حدث خطأ من جهتنا. يرجى المحاولة مجددًا.".into(),
        VerifyError::Transport(_) => "تعذّر الوصول إلى الخادم. تحقّق من اتصالك وحاول مجددًا.".into(),
    }
}
