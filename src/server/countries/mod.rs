//! The country picker's list, and a guess at the visitor's country.
use std::sync::OnceLock;

use crate::i18n::Lang;
use crate::verify::{CountryOption, fold};

mod names;

/// Every country libphonenumber can dial, named in `lang` and sorted by that name.
pub fn options(lang: Lang) -> &'static [CountryOption] {
    static LISTS: OnceLock<Vec<Vec<CountryOption>>> = OnceLock::new();
    let lists = LISTS.get_or_init(|| Lang::ALL.into_iter().map(build).collect());
    let index = Lang::ALL.iter().position(|l| *l == lang).unwrap_or(0);
    &lists[index]
}

fn build(lang: Lang) -> Vec<CountryOption> {
    let database = &*phonenumber::metadata::DATABASE;
    let mut list: Vec<CountryOption> = names::NAMES
        .iter()
        .filter_map(|(iso, en, de, ar)| {
            let dial = database.by_id(*iso)?.country_code();
            let name = match lang {
                Lang::En => en,
                Lang::De => de,
                Lang::Ar => ar,
            };
            Some(CountryOption {
                iso: (*iso).to_owned(),
                dial,
                name: (*name).to_owned(),
            })
        })
        .collect();
    list.sort_by_cached_key(|c| fold(&c.name));
    list
}

/// Whether `iso` is a country of the list.
pub fn is_known(iso: &str) -> bool {
    options(Lang::En).iter().any(|c| c.iso == iso)
}

/// The visitor's likely country from `Accept-Language`: the region of the first tag
/// that has one (`de-AT` → AT), else the main country of the first language we can
/// place (`de` → DE).
pub fn guess(accept_language: &str) -> Option<String> {
    let tags: Vec<&str> = accept_language
        .split(',')
        .filter_map(|item| item.split(';').next())
        .map(str::trim)
        .collect();
    let region = tags.iter().find_map(|tag| {
        let region = tag.split(['-', '_']).nth(1)?;
        (region.len() == 2).then(|| region.to_ascii_uppercase())
    });
    region
        .or_else(|| {
            tags.iter().find_map(|tag| {
                let language = tag.split(['-', '_']).next()?.to_ascii_lowercase();
                LIKELY_COUNTRY
                    .iter()
                    .find(|(l, _)| *l == language)
                    .map(|(_, c)| (*c).to_owned())
            })
        })
        .filter(|iso| is_known(iso))
}

/// The country most speakers of a language dial from (CLDR's likely subtags).
const LIKELY_COUNTRY: &[(&str, &str)] = &[
    ("en", "US"),
    ("de", "DE"),
    ("ar", "EG"),
    ("fr", "FR"),
    ("es", "ES"),
    ("it", "IT"),
    ("pt", "BR"),
    ("nl", "NL"),
    ("pl", "PL"),
    ("sv", "SE"),
    ("da", "DK"),
    ("nb", "NO"),
    ("fi", "FI"),
    ("tr", "TR"),
    ("ru", "RU"),
    ("uk", "UA"),
    ("ja", "JP"),
    ("ko", "KR"),
    ("zh", "CN"),
    ("hi", "IN"),
    ("fa", "IR"),
    ("he", "IL"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_lists_the_same_countries_sorted_by_name() {
        let en = options(Lang::En);
        assert!(en.len() > 230, "{}", en.len());
        for lang in Lang::ALL {
            assert_eq!(options(lang).len(), en.len());
        }
        let uk = en.iter().find(|c| c.iso == "GB").unwrap();
        assert_eq!((uk.dial, uk.name.as_str()), (44, "United Kingdom"));
        let de = options(Lang::De);
        let names: Vec<&str> = de.iter().map(|c| c.name.as_str()).collect();
        let egypt = names.iter().position(|n| *n == "Ägypten").unwrap();
        assert!(egypt < names.iter().position(|n| *n == "Albanien").unwrap());
        assert!(options(Lang::Ar).iter().any(|c| c.name == "ألمانيا"));
    }

    #[test]
    fn the_country_is_guessed_from_the_language() {
        assert_eq!(guess("de-AT,de;q=0.9").as_deref(), Some("AT"));
        assert_eq!(guess("de,en-GB;q=0.5").as_deref(), Some("GB"));
        assert_eq!(guess("de").as_deref(), Some("DE"));
        assert_eq!(guess("xx").as_deref(), None);
        assert_eq!(guess("").as_deref(), None);
        assert_eq!(guess("en-ZZ"), None);
    }
}
