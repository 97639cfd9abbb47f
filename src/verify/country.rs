use serde::{Deserialize, Serialize};

/// A country of the picker: ISO 3166 code, dialling code, and its name in the
/// visitor's language. The server builds the list (names from the CLDR, dialling codes
/// from libphonenumber's metadata), so the browser bundle carries no country data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountryOption {
    pub iso: String,
    pub dial: u16,
    pub name: String,
}

impl CountryOption {
    /// The flag emoji: the code's two letters as regional indicator symbols.
    pub fn flag(&self) -> String {
        self.iso
            .chars()
            .filter(char::is_ascii_uppercase)
            .filter_map(|c| char::from_u32(0x1F1E6 + (c as u32 - 'A' as u32)))
            .collect()
    }

    /// Whether a search for `query` should show this country: by name (any word's
    /// start, ignoring case and accents), by ISO code, or by dialling code (`44`, `+44`).
    pub fn matches(&self, query: &str) -> bool {
        let query = fold(query.trim());
        if query.is_empty() {
            return true;
        }
        let digits = query.trim_start_matches('+');
        if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
            return self.dial.to_string().starts_with(digits);
        }
        let name = fold(&self.name);
        query.eq_ignore_ascii_case(&self.iso)
            || name.starts_with(&query)
            || name
                .split([' ', '-', '(', '’', '\''])
                .any(|word| word.starts_with(&query))
    }
}

/// Lower case without the common Latin accents, for searching and sorting names:
/// `Ägypten` and `agy` meet, and `Österreich` sorts among the O's. Our languages'
/// country names need no more than Latin letters (Arabic has no case), and a full
/// Unicode lower-casing table would cost the browser bundle kilobytes.
pub fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => {
                folded.push('a')
            }
            'ç' | 'č' | 'ć' | 'Ç' | 'Č' | 'Ć' => folded.push('c'),
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'È' | 'É' | 'Ê' | 'Ë' => folded.push('e'),
            'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' | 'İ' => folded.push('i'),
            'ñ' | 'ń' | 'Ñ' => folded.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => {
                folded.push('o')
            }
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'Ù' | 'Ú' | 'Û' | 'Ü' => folded.push('u'),
            'ý' | 'ÿ' | 'Ý' => folded.push('y'),
            'š' | 'ś' | 'Š' | 'Ś' => folded.push('s'),
            'ž' | 'ź' | 'ż' | 'Ž' | 'Ź' | 'Ż' => folded.push('z'),
            'ß' => folded.push_str("ss"),
            'æ' | 'Æ' => folded.push_str("ae"),
            'œ' | 'Œ' => folded.push_str("oe"),
            c => folded.push(c.to_ascii_lowercase()),
        }
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn country(iso: &str, dial: u16, name: &str) -> CountryOption {
        CountryOption {
            iso: iso.into(),
            dial,
            name: name.into(),
        }
    }

    #[test]
    fn flags_are_regional_indicators() {
        assert_eq!(country("GB", 44, "United Kingdom").flag(), "🇬🇧");
        assert_eq!(country("DE", 49, "Deutschland").flag(), "🇩🇪");
    }

    #[test]
    fn search_by_name_code_or_dialling_code() {
        let uk = country("GB", 44, "United Kingdom");
        for query in [
            "united", "king", "KINGDOM", "gb", "44", "+44", "+4", " Uni ",
        ] {
            assert!(uk.matches(query), "{query}");
        }
        for query in ["ngdom", "+49", "germany", "g"] {
            assert!(!uk.matches(query), "{query}");
        }
        assert!(country("EG", 20, "Ägypten").matches("agy"));
        assert!(country("CI", 225, "Côte d’Ivoire").matches("ivoire"));
        assert!(country("EG", 20, "مصر").matches("مص"));
    }

    #[test]
    fn folding_ignores_case_and_accents() {
        assert_eq!(fold("Österreich"), "osterreich");
        assert_eq!(fold("Curaçao"), "curacao");
        assert_eq!(fold("Straße"), "strasse");
    }
}
