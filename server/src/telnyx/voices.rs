//! The spec's gather `voice` (`female` | `male`) and `language` (BCP-47, default `en-US`)
//! → the `voice` and `language` Telnyx's `gather_using_speak` accepts.
//!
//! Voices are Azure neural voices (`Azure.<locale>-<Name>Neural`): Azure has a female and a
//! male neural voice for every language in Telnyx's `language` enum, so one provider covers
//! the whole table (AWS Polly lacks male neural voices for many of them). `arb` speaks with
//! Saudi Arabic voices, `cmn-CN` with Mandarin ones; Azure has no Welsh-English locale, so
//! `en-GB-WLS` uses the British English voices.
//!
//! Tags are matched case-insensitively (`en-us` is `en-US`); `ar` and `zh-CN` are accepted
//! as the usual tags for `arb` and `cmn-CN`. Anything else is refused with the list of
//! supported values, so the API can answer 400 before calling Telnyx.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The spec's `voice`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Voice {
    #[default]
    Female,
    Male,
}

impl FromStr for Voice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "female" => Ok(Self::Female),
            "male" => Ok(Self::Male),
            _ => Err("voice must be one of: female, male".to_owned()),
        }
    }
}

/// The spec's default gather language.
pub const DEFAULT_LANGUAGE: &str = "en-US";

/// Telnyx's `language` value → (female voice, male voice). Telnyx's own order.
pub const VOICES: &[(&str, &str, &str)] = &[
    (
        "arb",
        "Azure.ar-SA-ZariyahNeural",
        "Azure.ar-SA-HamedNeural",
    ),
    (
        "cmn-CN",
        "Azure.zh-CN-XiaoxiaoNeural",
        "Azure.zh-CN-YunxiNeural",
    ),
    ("cy-GB", "Azure.cy-GB-NiaNeural", "Azure.cy-GB-AledNeural"),
    (
        "da-DK",
        "Azure.da-DK-ChristelNeural",
        "Azure.da-DK-JeppeNeural",
    ),
    (
        "de-DE",
        "Azure.de-DE-KatjaNeural",
        "Azure.de-DE-ConradNeural",
    ),
    (
        "en-AU",
        "Azure.en-AU-NatashaNeural",
        "Azure.en-AU-WilliamNeural",
    ),
    ("en-GB", "Azure.en-GB-SoniaNeural", "Azure.en-GB-RyanNeural"),
    (
        "en-GB-WLS",
        "Azure.en-GB-SoniaNeural",
        "Azure.en-GB-RyanNeural",
    ),
    (
        "en-IN",
        "Azure.en-IN-NeerjaNeural",
        "Azure.en-IN-PrabhatNeural",
    ),
    ("en-US", "Azure.en-US-JennyNeural", "Azure.en-US-GuyNeural"),
    (
        "es-ES",
        "Azure.es-ES-ElviraNeural",
        "Azure.es-ES-AlvaroNeural",
    ),
    (
        "es-MX",
        "Azure.es-MX-DaliaNeural",
        "Azure.es-MX-JorgeNeural",
    ),
    (
        "es-US",
        "Azure.es-US-PalomaNeural",
        "Azure.es-US-AlonsoNeural",
    ),
    (
        "fr-CA",
        "Azure.fr-CA-SylvieNeural",
        "Azure.fr-CA-JeanNeural",
    ),
    (
        "fr-FR",
        "Azure.fr-FR-DeniseNeural",
        "Azure.fr-FR-HenriNeural",
    ),
    (
        "hi-IN",
        "Azure.hi-IN-SwaraNeural",
        "Azure.hi-IN-MadhurNeural",
    ),
    (
        "is-IS",
        "Azure.is-IS-GudrunNeural",
        "Azure.is-IS-GunnarNeural",
    ),
    ("it-IT", "Azure.it-IT-ElsaNeural", "Azure.it-IT-DiegoNeural"),
    (
        "ja-JP",
        "Azure.ja-JP-NanamiNeural",
        "Azure.ja-JP-KeitaNeural",
    ),
    (
        "ko-KR",
        "Azure.ko-KR-SunHiNeural",
        "Azure.ko-KR-InJoonNeural",
    ),
    (
        "nb-NO",
        "Azure.nb-NO-PernilleNeural",
        "Azure.nb-NO-FinnNeural",
    ),
    (
        "nl-NL",
        "Azure.nl-NL-ColetteNeural",
        "Azure.nl-NL-MaartenNeural",
    ),
    (
        "pl-PL",
        "Azure.pl-PL-ZofiaNeural",
        "Azure.pl-PL-MarekNeural",
    ),
    (
        "pt-BR",
        "Azure.pt-BR-FranciscaNeural",
        "Azure.pt-BR-AntonioNeural",
    ),
    (
        "pt-PT",
        "Azure.pt-PT-RaquelNeural",
        "Azure.pt-PT-DuarteNeural",
    ),
    ("ro-RO", "Azure.ro-RO-AlinaNeural", "Azure.ro-RO-EmilNeural"),
    (
        "ru-RU",
        "Azure.ru-RU-SvetlanaNeural",
        "Azure.ru-RU-DmitryNeural",
    ),
    (
        "sv-SE",
        "Azure.sv-SE-SofieNeural",
        "Azure.sv-SE-MattiasNeural",
    ),
    ("tr-TR", "Azure.tr-TR-EmelNeural", "Azure.tr-TR-AhmetNeural"),
];

/// Accepted spellings that are not Telnyx's own values.
const ALIASES: &[(&str, &str)] = &[("ar", "arb"), ("zh-CN", "cmn-CN")];

/// What to send Telnyx for one gather prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtsVoice {
    /// Telnyx's `voice`.
    pub voice: &'static str,
    /// Telnyx's `language`.
    pub language: &'static str,
}

/// A language Telnyx cannot speak (or not a language tag at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedLanguage;

impl std::error::Error for UnsupportedLanguage {}

impl fmt::Display for UnsupportedLanguage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "language must be one of: {}", supported_languages())
    }
}

/// The supported language values, comma separated (Telnyx's spelling).
pub fn supported_languages() -> String {
    VOICES
        .iter()
        .map(|(language, _, _)| *language)
        .collect::<Vec<_>>()
        .join(", ")
}

impl TtsVoice {
    /// The voice for `voice` in `language` (`None`: the spec's default, `en-US`).
    pub fn resolve(voice: Voice, language: Option<&str>) -> Result<Self, UnsupportedLanguage> {
        let tag = language.unwrap_or(DEFAULT_LANGUAGE);
        let tag = ALIASES
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(tag))
            .map_or(tag, |(_, language)| *language);
        let (language, female, male) = VOICES
            .iter()
            .find(|(language, _, _)| language.eq_ignore_ascii_case(tag))
            .ok_or(UnsupportedLanguage)?;
        Ok(Self {
            voice: match voice {
                Voice::Female => female,
                Voice::Male => male,
            },
            language,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Telnyx's `language` enum, from the facts file.
    const TELNYX_LANGUAGES: &str = "arb, cmn-CN, cy-GB, da-DK, de-DE, en-AU, en-GB, en-GB-WLS, \
        en-IN, en-US, es-ES, es-MX, es-US, fr-CA, fr-FR, hi-IN, is-IS, it-IT, ja-JP, ko-KR, \
        nb-NO, nl-NL, pl-PL, pt-BR, pt-PT, ro-RO, ru-RU, sv-SE, tr-TR";

    #[test]
    fn every_telnyx_language_has_a_female_and_a_male_voice() {
        assert_eq!(supported_languages(), TELNYX_LANGUAGES);
        for (language, female, male) in VOICES {
            for (voice, name) in [(Voice::Female, female), (Voice::Male, male)] {
                let got = TtsVoice::resolve(voice, Some(language)).unwrap();
                assert_eq!((got.voice, got.language), (*name, *language));
                assert!(
                    name.starts_with("Azure.") && name.ends_with("Neural"),
                    "{name}"
                );
            }
            assert_ne!(female, male);
        }
    }

    #[test]
    fn the_voice_locale_matches_the_language() {
        for (language, female, male) in VOICES {
            let locale = match *language {
                "arb" => "ar-SA",
                "cmn-CN" => "zh-CN",
                "en-GB-WLS" => "en-GB",
                other => other,
            };
            for name in [female, male] {
                assert!(name.starts_with(&format!("Azure.{locale}-")), "{name}");
            }
        }
    }

    #[test]
    fn the_default_is_en_us_and_tags_ignore_case() {
        assert_eq!(
            TtsVoice::resolve(Voice::Female, None).unwrap(),
            TtsVoice {
                voice: "Azure.en-US-JennyNeural",
                language: "en-US"
            }
        );
        assert_eq!(
            TtsVoice::resolve(Voice::Male, Some("nl-nl")).unwrap(),
            TtsVoice {
                voice: "Azure.nl-NL-MaartenNeural",
                language: "nl-NL"
            }
        );
        assert_eq!(
            TtsVoice::resolve(Voice::Male, Some("zh-CN"))
                .unwrap()
                .language,
            "cmn-CN"
        );
        assert_eq!(
            TtsVoice::resolve(Voice::Female, Some("AR"))
                .unwrap()
                .language,
            "arb"
        );
    }

    #[test]
    fn unsupported_tags_list_the_supported_ones() {
        for tag in ["fr-BE", "en", "xx-YY", "", "en-US-x-private", "de_DE"] {
            let err = TtsVoice::resolve(Voice::Female, Some(tag)).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("language must be one of: {TELNYX_LANGUAGES}")
            );
        }
    }

    #[test]
    fn voices_parse_as_the_spec_spells_them() {
        assert_eq!("male".parse::<Voice>(), Ok(Voice::Male));
        assert_eq!(Voice::default(), Voice::Female);
        assert!("Male".parse::<Voice>().is_err());
    }
}
