//! Smart routing: classify each query and pick the backend whose specialties fit it.
//!
//! The stages, one module each: [`classify`] (the quick classifier, with its [`lexicon`]),
//! [`llm`] (the LLM classifier, asked only when the quick one is unsure), [`recommend`] (category,
//! size and preferences ⇒ backends), [`fanout`] (several backends, one combined answer) and
//! [`history`] (decisions and preferences that survive a restart). [`settings`] reads the
//! `smartRouter` config section. This file ties them together behind the interface the proxy
//! (`decide`, `fan_out`) and the control plane (`/debug/router`) call.
//!
//! Explicit choices win: the proxy asks the router only when the path did not pin a backend and
//! the model does not name one.

pub mod classify;
pub mod fanout;
pub mod history;
pub mod lexicon;
pub mod llm;
pub mod recommend;
pub mod settings;

use std::sync::Arc;

use parking_lot::RwLock;
use serde_json::{json, Value};

use crate::config::Config;
use crate::dialect::Dialect;
use crate::error::GatewayError;
use crate::ir;
use crate::state::State;
use crate::upstream::Upstream;

use classify::{Category, Complexity, Quick};
use history::{History, Record};
use llm::{LlmClassifier, Outcome};
use recommend::{Inputs, Preference, QualityPreference, Recommendation};
use settings::Settings;

pub use settings::validate;

/// How many decisions `GET /debug/router` shows.
const RECENT_DECISIONS: usize = 50;

/// What the smart router decided for one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// One backend, or several for a fan-out (the answers are combined).
    pub backends: Vec<String>,
    /// `code`, `research`, `conversation`, `complex` or `multi`.
    pub category: String,
    pub confidence: f64,
    /// Why, in a few words (shown in `X-Routing-Reason` and the logs).
    pub reason: String,
}

/// A classification, from the quick classifier or the LLM.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    pub category: Category,
    pub confidence: f64,
    pub complexity: Complexity,
    /// `quick`, `llm` or `llm-cache`.
    pub source: &'static str,
    pub reasoning: String,
    /// Backends the LLM suggested (configured ones only).
    pub suggested_backends: Vec<String>,
    pub quick: Quick,
}

impl Classification {
    pub fn to_json(&self) -> Value {
        let scores: serde_json::Map<String, Value> = Category::ALL
            .iter()
            .map(|c| {
                let score = (self.quick.scores[c.index()] * 100.0).round() / 100.0;
                (c.as_str().to_owned(), json!(score))
            })
            .collect();
        json!({
            "category": self.category.as_str(),
            "confidence": self.confidence,
            "complexity": self.complexity.as_str(),
            "suggestedBackends": self.suggested_backends,
            "reasoning": self.reasoning,
            "source": self.source,
            "quick": {
                "category": self.quick.category.as_str(),
                "confidence": self.quick.confidence,
                "cues": self.quick.cues,
                "scores": scores,
            },
        })
    }
}

/// The settings of the current config, with the classifier backend ready to call.
#[derive(Clone)]
struct Configured {
    settings: Settings,
    /// The classifier backend, with its timeouts cut to `classifierTimeoutMs`.
    classifier: Option<Arc<Upstream>>,
    /// Why the LLM classifier is off although configured.
    classifier_problem: Option<String>,
}

impl Configured {
    fn new(config: &Config) -> Configured {
        let (settings, problems) = Settings::from_section(config.extra.get("smartRouter"));
        for (field, message) in &problems {
            log::warn!("config: {field}: {message}; using the default");
        }
        for warning in recommend::check_backends(config) {
            log::warn!("config: {warning}");
        }
        let mut classifier_problem = None;
        let classifier = settings.classifier_backend.as_ref().and_then(|name| {
            let Some(backend) = config.backend(name) else {
                let problem = format!("no backend named {name:?}; the LLM classifier is off");
                log::warn!("config: smartRouter.classifierBackend: {problem}");
                classifier_problem = Some(problem);
                return None;
            };
            let mut backend = backend.clone();
            let limit = settings.classifier_timeout;
            backend.connect_timeout = backend.connect_timeout.min(limit);
            backend.first_byte_timeout = limit;
            backend.idle_timeout = limit;
            Some(Arc::new(Upstream::new(&backend)))
        });
        Configured {
            settings,
            classifier,
            classifier_problem,
        }
    }
}

/// The smart router's state: classifier caches, user preferences, decision history.
pub struct SmartRouter {
    configured: RwLock<Configured>,
    llm: LlmClassifier,
    history: History,
}

impl SmartRouter {
    pub fn new(config: &Config) -> SmartRouter {
        let configured = Configured::new(config);
        let llm = LlmClassifier::new(configured.settings.cache_size);
        let history = History::open(configured.settings.history_file.clone());
        SmartRouter {
            configured: RwLock::new(configured),
            llm,
            history,
        }
    }

    /// Classifies a request: the quick classifier, then the LLM when the quick answer's
    /// confidence is under `llmThreshold` and a classifier backend is configured.
    pub fn classify(&self, state: &State, request: &ir::Request) -> Classification {
        let configured = self.configured.read().clone();
        let quick = classify::classify(request);
        let mut classification = Classification {
            category: quick.category,
            confidence: quick.confidence,
            complexity: quick.complexity,
            source: "quick",
            reasoning: quick.reason(),
            suggested_backends: Vec::new(),
            quick,
        };
        let settings = &configured.settings;
        let Some(upstream) = configured.classifier.as_ref() else {
            return classification;
        };
        if classification.confidence >= settings.llm_threshold {
            return classification;
        }
        let query = request.last_user_text();
        if query.trim().is_empty() {
            return classification;
        }
        let config = state.config();
        let profiles = recommend::profiles(&config, &state.health);
        let candidates: Vec<llm::Candidate<'_>> = profiles
            .iter()
            .map(|p| llm::Candidate {
                name: &p.name,
                specialties: p.specialties_raw.clone(),
            })
            .collect();
        let outcome = self.llm.classify(
            upstream,
            &query,
            &candidates,
            settings.classifier_timeout,
            settings.classifier_cooldown,
        );
        match outcome {
            Outcome::Answered { answer, cached } => {
                classification.category = answer.category;
                classification.confidence = answer.confidence;
                classification.complexity = answer.complexity.unwrap_or(classification.complexity);
                classification.source = if cached { "llm-cache" } else { "llm" };
                classification.reasoning = answer.reasoning;
                classification.suggested_backends = answer
                    .suggested_backends
                    .into_iter()
                    .filter(|name| config.backend(name).is_some())
                    .collect();
            }
            Outcome::TimedOut => {
                classification.reasoning =
                    format!("{} (LLM classifier timed out)", classification.reasoning)
            }
            Outcome::Failed(_) => {
                classification.reasoning =
                    format!("{} (LLM classifier failed)", classification.reasoning)
            }
            Outcome::Resting => {
                classification.reasoning = format!(
                    "{} (LLM classifier resting after a failure)",
                    classification.reasoning
                )
            }
        }
        classification
    }

    /// The backends for a classified request (an error: nothing can hold the conversation).
    fn recommend(
        &self,
        state: &State,
        request: &ir::Request,
        classification: &Classification,
        user: Option<&str>,
    ) -> Result<(Recommendation, u64), GatewayError> {
        let settings = self.configured.read().settings.clone();
        let config = state.config();
        let profiles = recommend::profiles(&config, &state.health);
        let preference: Option<Preference> = user.and_then(|u| self.history.preference(u));
        let needed = request.estimate_input_tokens() + settings.output_reserve_tokens;
        let default_backend = state.default_backend();
        let recommendation = recommend::recommend(&Inputs {
            category: classification.category,
            confidence: classification.confidence,
            needed_tokens: needed,
            profiles: &profiles,
            default_backend: &default_backend,
            preference: preference.as_ref(),
            suggested: &classification.suggested_backends,
            has_tools: !request.tools.is_empty(),
            max_fan_out: settings.max_fan_out,
            fan_out_confidence: settings.fan_out_confidence,
        })?;
        Ok((recommendation, needed))
    }

    /// Decides where a request goes, or `None` to leave it to the ordinary rules. An error
    /// (e.g. a conversation too long for every backend) is answered to the client.
    pub fn decide(
        &self,
        state: &State,
        request: &ir::Request,
        user: Option<&str>,
    ) -> Result<Option<Decision>, GatewayError> {
        let classification = self.classify(state, request);
        let (recommendation, _) = self.recommend(state, request, &classification, user)?;
        let reason = format!(
            "smart: {} [{} {:.2}]",
            recommendation.reason, classification.source, classification.confidence
        );
        let query_chars = self.configured.read().settings.history_query_chars;
        let query = (query_chars > 0).then(|| {
            let text = request.last_user_text();
            let clipped: String = text.chars().take(query_chars).collect();
            if clipped.len() < text.len() {
                format!("{clipped}…")
            } else {
                clipped
            }
        });
        self.history.record(Record {
            time_ms: crate::observe::unix_ms(),
            category: classification.category.as_str().to_owned(),
            confidence: classification.confidence,
            backends: recommendation.backends.clone(),
            reason: reason.clone(),
            classifier: classification.source.to_owned(),
            user: user.map(str::to_owned),
            query,
        });
        Ok(Some(Decision {
            backends: recommendation.backends,
            category: classification.category.as_str().to_owned(),
            confidence: classification.confidence,
            reason,
        }))
    }

    /// Sends the request to every backend of a fan-out decision and combines the answers.
    pub fn fan_out(
        &self,
        state: &State,
        request: &ir::Request,
        decision: &Decision,
    ) -> Result<ir::Response, GatewayError> {
        let upstreams = state.upstreams();
        let targets: Vec<(String, Option<Arc<Upstream>>)> = decision
            .backends
            .iter()
            .map(|name| (name.clone(), upstreams.get(name)))
            .collect();
        let parts = fanout::ask_all(&targets, request);
        for part in &parts {
            if let Err(e) = &part.result {
                log::warn!(
                    "smart router: fan-out to {} failed: {}",
                    part.backend,
                    e.message
                );
            }
        }
        fanout::combine(parts, &decision.category)
    }

    /// `GET /debug/router`.
    pub fn debug_get(&self, state: &State) -> Value {
        let configured = self.configured.read().clone();
        let settings = &configured.settings;
        let config = state.config();
        let profiles = recommend::profiles(&config, &state.health);
        let data = self.history.snapshot();
        let recent: Vec<&Record> = data.decisions.iter().rev().take(RECENT_DECISIONS).collect();
        let mut llm = self.llm.stats_json();
        if let Some(obj) = llm.as_object_mut() {
            obj.insert("backend".into(), json!(settings.classifier_backend));
            obj.insert("active".into(), json!(configured.classifier.is_some()));
            obj.insert(
                "timeoutMs".into(),
                json!(settings.classifier_timeout.as_millis() as u64),
            );
            obj.insert("problem".into(), json!(configured.classifier_problem));
        }
        json!({
            "enabled": state.smart_routing(),
            "classifier": {
                "quick": {
                    "kind": "hand-tuned keyword and structure scorer",
                    "lexiconEntries": lexicon::get().len(),
                    "categories": Category::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                },
                "llmThreshold": settings.llm_threshold,
                "llm": llm,
            },
            "settings": {
                "classifierBackend": settings.classifier_backend,
                "historyFile": settings.history_file.as_ref().map(|p| p.display().to_string()),
                "llmThreshold": settings.llm_threshold,
                "classifierTimeoutMs": settings.classifier_timeout.as_millis() as u64,
                "classifierCooldownSecs": settings.classifier_cooldown.as_secs(),
                "cacheSize": settings.cache_size,
                "maxFanOut": settings.max_fan_out,
                "fanOutConfidence": settings.fan_out_confidence,
                "outputReserveTokens": settings.output_reserve_tokens,
                "historyQueryChars": settings.history_query_chars,
            },
            "backends": profiles.iter().map(recommend::Profile::to_json).collect::<Vec<_>>(),
            "recentDecisions": recent,
            "decisionsKept": data.decisions.len(),
            "preferences": data.preferences,
            "counts": data.counts,
        })
    }

    /// `POST /debug/router` (the caller has checked the admin token).
    pub fn debug_post(&self, state: &State, body: &Value) -> Result<Value, GatewayError> {
        let action = body.get("action").and_then(Value::as_str).ok_or_else(|| {
            GatewayError::invalid(
                "action: expected one of classify, setPreference, clearHistory, enable, disable",
            )
        })?;
        match action {
            "classify" => self.debug_classify(state, body),
            "setPreference" => self.set_preference(state, body),
            "clearHistory" => Ok(json!({"cleared": self.history.clear()})),
            "enable" | "disable" => {
                let on = action == "enable";
                let was = state.set_smart_routing(on);
                log::info!(
                    "smart routing {} (was {})",
                    if on { "enabled" } else { "disabled" },
                    if was { "on" } else { "off" }
                );
                Ok(json!({"enabled": on, "was": was}))
            }
            other => Err(GatewayError::invalid(format!(
                "unknown action {other:?}: expected classify, setPreference, clearHistory, enable or disable"
            ))),
        }
    }

    /// `{"action":"classify","query":"..."}` or `"messages":[...]`, optional `"userId"`: what
    /// the router would do, without recording it.
    fn debug_classify(&self, state: &State, body: &Value) -> Result<Value, GatewayError> {
        let request = match (body.get("query"), body.get("messages")) {
            (Some(Value::String(query)), _) => ir::Request {
                messages: vec![ir::Message {
                    role: ir::Role::User,
                    content: vec![ir::Block::Text {
                        text: query.clone(),
                    }],
                }],
                ..ir::Request::default()
            },
            (_, Some(Value::Array(messages))) => {
                let mut wrapped = json!({"model": "router", "messages": messages});
                if let Some(tools) = body.get("tools") {
                    wrapped["tools"] = tools.clone();
                }
                Dialect::OpenAiChat
                    .decode_request(&wrapped)
                    .map_err(|e| GatewayError::invalid(format!("messages: {}", e.message)))?
            }
            _ => return Err(GatewayError::invalid(
                "classify needs \"query\" (a string) or \"messages\" (a list of {role, content})",
            )),
        };
        let user = optional_str(body, "userId")?;
        let classification = self.classify(state, &request);
        let recommendation = match self.recommend(state, &request, &classification, user) {
            Ok((r, needed)) => r.to_json(needed),
            Err(e) => json!({"error": e.message, "status": e.status}),
        };
        Ok(json!({
            "query": request.last_user_text(),
            "classification": classification.to_json(),
            "recommendation": recommendation,
            "enabled": state.smart_routing(),
        }))
    }

    /// `{"action":"setPreference","userId":"u","category":"code","preferredBackend":"b",
    /// "qualityPreference":"quality"}`; a `null` backend or quality clears that setting.
    fn set_preference(&self, state: &State, body: &Value) -> Result<Value, GatewayError> {
        let user = optional_str(body, "userId")?
            .filter(|u| !u.is_empty())
            .ok_or_else(|| GatewayError::invalid("setPreference needs \"userId\""))?;
        let config = state.config();
        let mut override_change: Option<(String, Option<String>)> = None;
        if let Some(category) = optional_str(body, "category")? {
            let category = Category::parse(category).ok_or_else(|| {
                GatewayError::invalid(format!(
                    "category: {category:?} is not one of code, research, conversation, complex, multi"
                ))
            })?;
            let backend = match body.get("preferredBackend") {
                None | Some(Value::Null) => None,
                Some(Value::String(b)) if b.is_empty() => None,
                Some(Value::String(b)) => {
                    if config.backend(b).is_none() {
                        let names: Vec<&str> =
                            config.backends.iter().map(|b| b.name.as_str()).collect();
                        return Err(GatewayError::invalid(format!(
                            "preferredBackend: no backend named {b:?} (configured: {})",
                            names.join(", ")
                        )));
                    }
                    Some(b.clone())
                }
                Some(_) => {
                    return Err(GatewayError::invalid(
                        "preferredBackend: expected a backend name or null",
                    ))
                }
            };
            override_change = Some((category.as_str().to_owned(), backend));
        } else if body.get("preferredBackend").is_some_and(|v| !v.is_null()) {
            return Err(GatewayError::invalid(
                "preferredBackend needs \"category\" (which queries it is for)",
            ));
        }
        let quality_change = match body.get("qualityPreference") {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(q)) => Some(Some(QualityPreference::parse(q).ok_or_else(|| {
                GatewayError::invalid(format!(
                    "qualityPreference: {q:?} is not one of quality, speed, balanced"
                ))
            })?)),
            Some(_) => {
                return Err(GatewayError::invalid(
                    "qualityPreference: expected \"quality\", \"speed\" or \"balanced\"",
                ))
            }
        };
        if override_change.is_none() && quality_change.is_none() {
            return Err(GatewayError::invalid(
                "setPreference needs \"category\" with \"preferredBackend\", or \"qualityPreference\"",
            ));
        }
        let preferences = self.history.update_preference(user, |pref| {
            if let Some((category, backend)) = override_change {
                match backend {
                    Some(b) => {
                        pref.category_overrides.insert(category, b);
                    }
                    None => {
                        pref.category_overrides.remove(&category);
                    }
                }
            }
            if let Some(quality) = quality_change {
                pref.quality_preference = quality;
            }
        });
        Ok(json!({"userId": user, "preferences": preferences}))
    }

    /// A new config is in place (reload or `/debug/config`).
    pub fn on_config(&self, config: &Config) {
        let configured = Configured::new(config);
        self.llm.set_cache_size(configured.settings.cache_size);
        self.llm.wake();
        self.history
            .set_path(configured.settings.history_file.clone());
        *self.configured.write() = configured;
    }

    /// Persists what must survive a restart (called at shutdown).
    pub fn flush(&self) {
        self.history.flush();
    }
}

fn optional_str<'a>(body: &'a Value, key: &str) -> Result<Option<&'a str>, GatewayError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(GatewayError::invalid(format!("{key}: expected a string"))),
    }
}
