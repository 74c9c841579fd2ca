//! The `smartRouter` config section, read into typed settings with a default for every field.
//!
//! The section is optional and so is each field. An invalid value never stops the gateway: it
//! is reported (a warning naming the field, or an error from [`validate`] when the config is
//! loaded) and its default is used instead.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

/// Fields of the section, for the unknown-field warning.
const KNOWN: &[&str] = &[
    "enabled",
    "classifierBackend",
    "historyFile",
    "llmThreshold",
    "classifierTimeoutMs",
    "classifierCooldownSecs",
    "cacheSize",
    "maxFanOut",
    "fanOutConfidence",
    "outputReserveTokens",
    "historyQueryChars",
];

/// The smart router's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `enabled`: whether smart routing starts on. Defaults to `false`. (Read by `State`;
    /// switchable at run time with `POST /debug/router {"action":"enable"}`.)
    pub enabled: bool,
    /// `classifierBackend`: the backend asked when the quick classifier is unsure. Defaults to
    /// none (the quick answer always stands).
    pub classifier_backend: Option<String>,
    /// `historyFile`: where decisions and preferences persist. Defaults to none (kept in memory).
    pub history_file: Option<PathBuf>,
    /// `llmThreshold`: quick confidence below this asks the LLM classifier. Defaults to 0.6.
    pub llm_threshold: f64,
    /// `classifierTimeoutMs`: the LLM classifier's time limit; past it the quick answer is used.
    /// Defaults to 3000.
    pub classifier_timeout: Duration,
    /// `classifierCooldownSecs`: after the LLM classifier fails or times out, it is not asked
    /// again for this long (so a dead classifier does not cost every request its timeout).
    /// Defaults to 30.
    pub classifier_cooldown: Duration,
    /// `cacheSize`: LLM classifications kept, by normalized query. Defaults to 256.
    pub cache_size: usize,
    /// `maxFanOut`: the most backends one fan-out asks (2–5). Defaults to 3.
    pub max_fan_out: usize,
    /// `fanOutConfidence`: a `complex` query classified with less confidence than this is
    /// fanned out like a `multi` one. Defaults to 0.5.
    pub fan_out_confidence: f64,
    /// `outputReserveTokens`: tokens kept free for the answer when checking `contextWindow`.
    /// Defaults to 1024.
    pub output_reserve_tokens: u64,
    /// `historyQueryChars`: how much of each query the history keeps (0: none). Defaults to 80.
    pub history_query_chars: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            enabled: false,
            classifier_backend: None,
            history_file: None,
            llm_threshold: 0.6,
            classifier_timeout: Duration::from_millis(3000),
            classifier_cooldown: Duration::from_secs(30),
            cache_size: 256,
            max_fan_out: 3,
            fan_out_confidence: 0.5,
            output_reserve_tokens: 1024,
            history_query_chars: 80,
        }
    }
}

/// A problem with one field: (dotted field, message).
pub type Problem = (String, String);

impl Settings {
    /// Reads the section (absent: all defaults). Each invalid field keeps its default and is
    /// returned as a problem; unknown fields are returned too.
    pub fn from_section(section: Option<&Value>) -> (Settings, Vec<Problem>) {
        let mut settings = Settings::default();
        let mut problems = Vec::new();
        let obj = match section {
            None | Some(Value::Null) => return (settings, problems),
            Some(Value::Object(obj)) => obj,
            Some(_) => {
                problems.push(("smartRouter".into(), "expected an object".into()));
                return (settings, problems);
            }
        };
        let mut bad = |key: &str, message: &str| {
            problems.push((format!("smartRouter.{key}"), message.to_owned()));
        };
        for (key, value) in obj {
            match key.as_str() {
                "enabled" => match value.as_bool() {
                    Some(b) => settings.enabled = b,
                    None => bad(key, "expected true or false"),
                },
                "classifierBackend" => match value {
                    Value::Null => {}
                    Value::String(s) if s.is_empty() => {}
                    Value::String(s) => settings.classifier_backend = Some(s.clone()),
                    _ => bad(key, "expected a backend name"),
                },
                "historyFile" => match value {
                    Value::Null => {}
                    Value::String(s) if s.is_empty() => {}
                    Value::String(s) => settings.history_file = Some(PathBuf::from(s)),
                    _ => bad(key, "expected a file path"),
                },
                "llmThreshold" => match fraction(value) {
                    Some(f) => settings.llm_threshold = f,
                    None => bad(key, "expected a number from 0 to 1"),
                },
                "fanOutConfidence" => match fraction(value) {
                    Some(f) => settings.fan_out_confidence = f,
                    None => bad(key, "expected a number from 0 to 1"),
                },
                "classifierTimeoutMs" => match whole(value, 1, 600_000) {
                    Some(ms) => settings.classifier_timeout = Duration::from_millis(ms),
                    None => bad(key, "expected milliseconds from 1 to 600000"),
                },
                "classifierCooldownSecs" => match whole(value, 0, 86_400) {
                    Some(s) => settings.classifier_cooldown = Duration::from_secs(s),
                    None => bad(key, "expected seconds from 0 to 86400"),
                },
                "cacheSize" => match whole(value, 0, 1_000_000) {
                    Some(n) => settings.cache_size = n as usize,
                    None => bad(key, "expected a whole number from 0 to 1000000"),
                },
                "maxFanOut" => match whole(value, 2, 5) {
                    Some(n) => settings.max_fan_out = n as usize,
                    None => bad(key, "expected a whole number from 2 to 5"),
                },
                "outputReserveTokens" => match whole(value, 0, 10_000_000) {
                    Some(n) => settings.output_reserve_tokens = n,
                    None => bad(key, "expected a whole number of tokens"),
                },
                "historyQueryChars" => match whole(value, 0, 10_000) {
                    Some(n) => settings.history_query_chars = n as usize,
                    None => bad(key, "expected a whole number from 0 to 10000"),
                },
                _ => bad(key, &format!("unknown field (known: {})", KNOWN.join(", "))),
            }
        }
        (settings, problems)
    }
}

/// Checks the section when the config is loaded: the first invalid field, if any. Unknown
/// fields are not errors (they are logged when the router starts).
pub fn validate(section: &Value) -> Result<(), Problem> {
    let (_, problems) = Settings::from_section(Some(section));
    match problems
        .into_iter()
        .find(|(_, message)| !message.starts_with("unknown field"))
    {
        Some(problem) => Err(problem),
        None => Ok(()),
    }
}

fn fraction(value: &Value) -> Option<f64> {
    value.as_f64().filter(|f| (0.0..=1.0).contains(f))
}

fn whole(value: &Value, min: u64, max: u64) -> Option<u64> {
    value.as_u64().filter(|n| (min..=max).contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_overrides() {
        let (s, problems) = Settings::from_section(None);
        assert_eq!(s, Settings::default());
        assert!(problems.is_empty());
        let section = json!({"enabled": true, "classifierBackend": "local",
            "historyFile": "/tmp/h.json", "llmThreshold": 0.4, "classifierTimeoutMs": 500,
            "maxFanOut": 2});
        let (s, problems) = Settings::from_section(Some(&section));
        assert!(problems.is_empty(), "{problems:?}");
        assert!(s.enabled);
        assert_eq!(s.classifier_backend.as_deref(), Some("local"));
        assert_eq!(s.classifier_timeout, Duration::from_millis(500));
        assert_eq!(s.max_fan_out, 2);
        assert_eq!(s.llm_threshold, 0.4);
    }

    #[test]
    fn invalid_fields_fall_back_and_are_named() {
        let section = json!({"llmThreshold": 3, "maxFanOut": 9, "cacheSize": "big", "colour": 1});
        let (s, problems) = Settings::from_section(Some(&section));
        assert_eq!(s.llm_threshold, 0.6);
        assert_eq!(s.max_fan_out, 3);
        let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
        assert!(fields.contains(&"smartRouter.llmThreshold"));
        assert!(fields.contains(&"smartRouter.maxFanOut"));
        assert!(fields.contains(&"smartRouter.colour"));
        let err = validate(&section).unwrap_err();
        assert!(err.0.starts_with("smartRouter."), "{err:?}");
        assert!(validate(&json!({"enabled": true, "extra": 1})).is_ok());
        assert_eq!(
            validate(&json!([1])).unwrap_err().0,
            "smartRouter".to_owned()
        );
    }
}
