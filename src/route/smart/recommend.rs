//! Recommendation: from a category (and the request's size, the user's preferences, the
//! backends' `specialties`, `contextWindow`, `quality` and `speed`) to one backend, or to up to
//! `maxFanOut` backends for a fan-out.
//!
//! The rules, in order: only backends whose context window holds the conversation (none: a 400
//! that says how big it is and the largest window); a user's `categoryOverrides` entry; a
//! fan-out for `multi` (and `complex` below `fanOutConfidence`) when two or more backends can
//! answer and the request carries no tools; otherwise the best backend listing the category in
//! its specialties, ranked by the user's `qualityPreference`, the LLM's suggestions, and the
//! default backend as the tie-breaker.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::Config;
use crate::error::GatewayError;
use crate::upstream::health::HealthBoard;

use super::classify::Category;

/// What the router knows of one backend.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    /// Categories from `specialties` (synonyms such as `coding` or `chat` understood).
    pub specialties: Vec<Category>,
    /// `specialties` as written, for the LLM prompt and `/debug/router`.
    pub specialties_raw: Vec<String>,
    /// `contextWindow` in tokens; `None`: unknown, assumed to fit.
    pub context_window: Option<u64>,
    /// `quality` and `speed`, any scale, compared between backends (default 0.5).
    pub quality: f64,
    pub speed: f64,
    /// From the health prober: `Some(false)` is skipped while another backend can answer.
    pub up: Option<bool>,
}

impl Profile {
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "specialties": self.specialties_raw,
            "contextWindow": self.context_window,
            "quality": self.quality,
            "speed": self.speed,
            "up": self.up,
        })
    }
}

/// The profiles of every configured backend, in config order.
pub fn profiles(config: &Config, health: &HealthBoard) -> Vec<Profile> {
    config
        .backends
        .iter()
        .map(|b| {
            let specialties_raw: Vec<String> = match b.extra.get("specialties") {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
                Some(Value::String(s)) => s.split(',').map(|p| p.trim().to_owned()).collect(),
                _ => Vec::new(),
            };
            let number = |key: &str| b.extra.get(key).and_then(Value::as_f64);
            Profile {
                name: b.name.clone(),
                specialties: specialties_raw
                    .iter()
                    .filter_map(|s| Category::parse(s))
                    .collect(),
                specialties_raw,
                context_window: b
                    .extra
                    .get("contextWindow")
                    .and_then(Value::as_u64)
                    .filter(|n| *n > 0),
                quality: number("quality").unwrap_or(0.5),
                speed: number("speed").unwrap_or(0.5),
                up: health.get(&b.name).up,
            }
        })
        .collect()
}

/// Warnings about backend fields the router reads (logged when a config is applied).
pub fn check_backends(config: &Config) -> Vec<String> {
    let mut warnings = Vec::new();
    for b in &config.backends {
        let at = |key: &str| format!("backends.{}.{key}", b.name);
        match b.extra.get("specialties") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for item in items {
                    match item.as_str() {
                        Some(s) if Category::parse(s).is_some() => {}
                        _ => warnings.push(format!(
                            "{}: {item} is not a category (code, research, conversation, complex, multi); ignored",
                            at("specialties")
                        )),
                    }
                }
            }
            Some(_) => warnings.push(format!(
                "{}: expected a list of categories",
                at("specialties")
            )),
        }
        if let Some(v) = b.extra.get("contextWindow") {
            if v.as_u64().filter(|n| *n > 0).is_none() {
                warnings.push(format!(
                    "{}: expected a positive number of tokens; ignored",
                    at("contextWindow")
                ));
            }
        }
        for key in ["quality", "speed"] {
            if let Some(v) = b.extra.get(key) {
                if v.as_f64().is_none() {
                    warnings.push(format!("{}: expected a number; ignored", at(key)));
                }
            }
        }
    }
    warnings
}

/// How a user trades quality against speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QualityPreference {
    Quality,
    Speed,
    Balanced,
}

impl QualityPreference {
    pub fn parse(s: &str) -> Option<QualityPreference> {
        match s.trim().to_ascii_lowercase().as_str() {
            "quality" | "high" | "best" => Some(QualityPreference::Quality),
            "speed" | "fast" | "low" | "cheap" => Some(QualityPreference::Speed),
            "balanced" | "medium" | "default" => Some(QualityPreference::Balanced),
            _ => None,
        }
    }
}

/// One user's routing preferences.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Preference {
    /// Category name ⇒ backend name.
    #[serde(default)]
    pub category_overrides: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_preference: Option<QualityPreference>,
}

/// Everything a recommendation depends on.
pub struct Inputs<'a> {
    pub category: Category,
    pub confidence: f64,
    /// Estimated tokens the request needs, the answer's reserve included.
    pub needed_tokens: u64,
    pub profiles: &'a [Profile],
    pub default_backend: &'a str,
    pub preference: Option<&'a Preference>,
    /// Backends the LLM classifier suggested.
    pub suggested: &'a [String],
    /// The request carries tools (a fan-out cannot combine tool calls).
    pub has_tools: bool,
    pub max_fan_out: usize,
    pub fan_out_confidence: f64,
}

/// Where the request goes and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    pub backends: Vec<String>,
    pub reason: String,
    pub fan_out: bool,
}

impl Recommendation {
    pub fn to_json(&self, needed_tokens: u64) -> Value {
        json!({
            "backends": self.backends,
            "backend": self.backends.first(),
            "fanOut": self.fan_out,
            "reason": self.reason,
            "estimatedTokens": needed_tokens,
        })
    }
}

/// Picks the backend(s) for a classified request.
pub fn recommend(inputs: &Inputs<'_>) -> Result<Recommendation, GatewayError> {
    let fits = |p: &&Profile| p.context_window.is_none_or(|w| w >= inputs.needed_tokens);
    let fitting: Vec<&Profile> = inputs.profiles.iter().filter(fits).collect();
    if fitting.is_empty() {
        let largest = inputs
            .profiles
            .iter()
            .filter_map(|p| p.context_window.map(|w| (w, p.name.as_str())))
            .max();
        return Err(GatewayError::invalid(match largest {
            Some((window, name)) => format!(
                "this conversation needs about {} tokens (answer included), more than any backend holds: the largest context window is {window} tokens ({name}); shorten the conversation",
                inputs.needed_tokens
            ),
            None => "no backend is configured".to_owned(),
        }));
    }
    // Backends known to be down are skipped while any other can answer.
    let alive: Vec<&Profile> = fitting
        .iter()
        .copied()
        .filter(|p| p.up != Some(false))
        .collect();
    let candidates = if alive.is_empty() { fitting } else { alive };
    let trimmed = candidates.len() < inputs.profiles.len();
    let category = inputs.category;

    // A user's explicit choice for this category.
    if let Some(wanted) = inputs
        .preference
        .and_then(|p| p.category_overrides.get(category.as_str()))
    {
        if candidates.iter().any(|p| &p.name == wanted) {
            return Ok(single(
                wanted,
                format!("{category}: user preference -> {wanted}"),
            ));
        }
    }

    let ranked = rank(inputs, &candidates);
    let fan_out_wanted = category == Category::Multi
        || (category == Category::Complex && inputs.confidence < inputs.fan_out_confidence);
    if fan_out_wanted && !inputs.has_tools && ranked.len() >= 2 && inputs.max_fan_out >= 2 {
        let chosen: Vec<String> = ranked
            .iter()
            .take(inputs.max_fan_out)
            .map(|p| p.name.clone())
            .collect();
        let why = if category == Category::Multi {
            "several perspectives".to_owned()
        } else {
            format!("low confidence ({:.2})", inputs.confidence)
        };
        return Ok(Recommendation {
            reason: format!("{category}: fan-out for {why} -> {}", chosen.join("+")),
            backends: chosen,
            fan_out: true,
        });
    }

    let best = ranked[0];
    let specialist = best.specialties.contains(&category);
    let reason = if specialist {
        format!("{category} -> {} (specialty)", best.name)
    } else if best.name == inputs.default_backend {
        format!("{category}: no specialist available; default {}", best.name)
    } else {
        format!("{category} -> {}", best.name)
    };
    let reason = if trimmed
        && inputs
            .profiles
            .iter()
            .any(|p| p.context_window.is_some_and(|w| w < inputs.needed_tokens))
    {
        format!(
            "{reason}; long conversation (~{} tokens) fits its context window",
            inputs.needed_tokens
        )
    } else {
        reason
    };
    Ok(single(&best.name, reason))
}

fn single(name: &str, reason: String) -> Recommendation {
    Recommendation {
        backends: vec![name.to_owned()],
        reason,
        fan_out: false,
    }
}

/// Candidates best first: specialists for the category, then by the user's quality preference
/// (or the category's natural one), the LLM's suggestions, the default backend, config order.
fn rank<'a>(inputs: &Inputs<'_>, candidates: &[&'a Profile]) -> Vec<&'a Profile> {
    let preference = inputs
        .preference
        .and_then(|p| p.quality_preference)
        .unwrap_or(match inputs.category {
            Category::Conversation => QualityPreference::Speed,
            Category::Complex | Category::Multi => QualityPreference::Quality,
            _ => QualityPreference::Balanced,
        });
    let merit = |p: &Profile| match preference {
        QualityPreference::Quality => p.quality * 2.0 + p.speed * 0.1,
        QualityPreference::Speed => p.speed * 2.0 + p.quality * 0.1,
        QualityPreference::Balanced => p.quality + p.speed,
    };
    let mut ranked: Vec<(usize, &'a Profile)> = candidates.iter().copied().enumerate().collect();
    ranked.sort_by(|(ia, a), (ib, b)| {
        let specialist = |p: &Profile| p.specialties.contains(&inputs.category);
        let suggested = |p: &Profile| inputs.suggested.contains(&p.name);
        let default = |p: &Profile| p.name == inputs.default_backend;
        specialist(b)
            .cmp(&specialist(a))
            .then(merit(b).total_cmp(&merit(a)))
            .then(suggested(b).cmp(&suggested(a)))
            .then(default(b).cmp(&default(a)))
            .then(ia.cmp(ib))
    });
    ranked.into_iter().map(|(_, p)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(name: &str, specialties: &[&str], window: Option<u64>, quality: f64) -> Profile {
        Profile {
            name: name.into(),
            specialties: specialties
                .iter()
                .filter_map(|s| Category::parse(s))
                .collect(),
            specialties_raw: specialties.iter().map(|s| s.to_string()).collect(),
            context_window: window,
            quality,
            speed: 1.0 - quality,
            up: None,
        }
    }

    fn backends() -> Vec<Profile> {
        vec![
            profile("small", &["conversation"], Some(8_000), 0.3),
            profile("coder", &["code"], Some(32_768), 0.6),
            profile("big", &["complex", "research"], Some(200_000), 0.9),
        ]
    }

    fn inputs<'a>(category: Category, profiles: &'a [Profile]) -> Inputs<'a> {
        Inputs {
            category,
            confidence: 0.9,
            needed_tokens: 2_000,
            profiles,
            default_backend: "small",
            preference: None,
            suggested: &[],
            has_tools: false,
            max_fan_out: 3,
            fan_out_confidence: 0.5,
        }
    }

    #[test]
    fn specialties_decide() {
        let p = backends();
        let pick = |c| recommend(&inputs(c, &p)).unwrap();
        assert_eq!(pick(Category::Code).backends, vec!["coder"]);
        assert!(pick(Category::Code).reason.contains("specialty"));
        assert_eq!(pick(Category::Conversation).backends, vec!["small"]);
        assert_eq!(pick(Category::Research).backends, vec!["big"]);
    }

    #[test]
    fn multi_fans_out_and_low_confidence_complex_too() {
        let p = backends();
        let r = recommend(&inputs(Category::Multi, &p)).unwrap();
        assert!(r.fan_out);
        assert_eq!(r.backends.len(), 3);
        assert_eq!(r.backends[0], "big", "best quality first");
        let mut i = inputs(Category::Complex, &p);
        i.confidence = 0.3;
        assert!(recommend(&i).unwrap().fan_out);
        i.confidence = 0.8;
        assert!(!recommend(&i).unwrap().fan_out);
        let mut i = inputs(Category::Multi, &p);
        i.has_tools = true;
        assert!(
            !recommend(&i).unwrap().fan_out,
            "tool calls cannot be combined"
        );
        i.has_tools = false;
        i.max_fan_out = 2;
        assert_eq!(recommend(&i).unwrap().backends.len(), 2);
    }

    #[test]
    fn long_conversations_go_where_they_fit_or_fail_clearly() {
        let p = backends();
        let mut i = inputs(Category::Code, &p);
        i.needed_tokens = 50_000;
        let r = recommend(&i).unwrap();
        assert_eq!(r.backends, vec!["big"]);
        assert!(r.reason.contains("fits"), "{}", r.reason);
        i.needed_tokens = 500_000;
        let err = recommend(&i).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(err.message.contains("200000"), "{}", err.message);
        assert!(err.message.contains("big"));
    }

    #[test]
    fn preferences_override_and_down_backends_are_skipped() {
        let mut p = backends();
        let mut pref = Preference::default();
        pref.category_overrides.insert("code".into(), "big".into());
        let mut i = inputs(Category::Code, &p);
        i.preference = Some(&pref);
        let r = recommend(&i).unwrap();
        assert_eq!(r.backends, vec!["big"]);
        assert!(r.reason.contains("user preference"));

        p[1].up = Some(false);
        let r = recommend(&inputs(Category::Code, &p)).unwrap();
        assert_ne!(r.backends, vec!["coder"]);
    }

    #[test]
    fn quality_preference_ranks_among_specialists() {
        let p = vec![
            profile("fast", &["research"], None, 0.2),
            profile("smart", &["research"], None, 0.9),
        ];
        let mut pref = Preference {
            quality_preference: Some(QualityPreference::Speed),
            ..Preference::default()
        };
        let mut i = inputs(Category::Research, &p);
        i.preference = Some(&pref);
        assert_eq!(recommend(&i).unwrap().backends, vec!["fast"]);
        pref.quality_preference = Some(QualityPreference::Quality);
        let mut i = inputs(Category::Research, &p);
        i.preference = Some(&pref);
        assert_eq!(recommend(&i).unwrap().backends, vec!["smart"]);
    }

    #[test]
    fn without_specialties_the_default_backend_keeps_it() {
        let p = vec![
            profile("a", &[], None, 0.5),
            profile("small", &[], None, 0.5),
        ];
        let r = recommend(&inputs(Category::Code, &p)).unwrap();
        assert_eq!(r.backends, vec!["small"]);
        assert!(r.reason.contains("default"));
    }
}
