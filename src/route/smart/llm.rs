//! The LLM classifier: asked through `classifierBackend` only when the quick classifier is
//! unsure. It sends a JSON classification prompt, parses the answer robustly (markdown fences,
//! `<think>` blocks, answers that arrive as reasoning content, prose around the JSON), gives up
//! after a timeout (the quick answer then stands), rests after a failure, and remembers answers
//! in an LRU cache keyed by the normalized query.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::{json, Value};

use crate::ir::{self, Block, Role};
use crate::upstream::Upstream;

use super::classify::{Category, Complexity};

/// The most query text the prompt carries.
const MAX_QUERY_CHARS: usize = 2000;

/// The system prompt: what to answer, as one JSON object.
pub const SYSTEM_PROMPT: &str = "You are a query classifier for an LLM routing gateway. \
Classify the user's query into exactly one category:\n\
- \"code\": programming, debugging, code review, shell commands, databases, software tools\n\
- \"research\": factual or knowledge questions: science, history, how things work, finance, health, travel\n\
- \"conversation\": greetings, small talk, creative writing, rewriting text, planning, light advice\n\
- \"complex\": deep analysis, strategy, trade-offs, philosophy, proofs, multi-step reasoning\n\
- \"multi\": the user wants several perspectives, viewpoints or opinions, a debate, or both sides\n\
Answer with one JSON object and nothing else:\n\
{\"category\": \"code|research|conversation|complex|multi\", \"confidence\": 0.0-1.0, \
\"complexity\": \"low|medium|high\", \"suggestedBackends\": [\"backend names from the list\"], \
\"reasoning\": \"one short sentence\"}";

/// What the LLM said.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub category: Category,
    pub confidence: f64,
    pub complexity: Option<Complexity>,
    pub suggested_backends: Vec<String>,
    pub reasoning: String,
}

/// How asking the LLM went.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Answered {
        answer: Answer,
        cached: bool,
    },
    /// No answer in time; the quick answer stands.
    TimedOut,
    /// The backend failed or answered something unusable.
    Failed(String),
    /// A recent failure: not asked.
    Resting,
}

/// A backend the prompt may suggest, with what it is good at.
pub struct Candidate<'a> {
    pub name: &'a str,
    pub specialties: Vec<String>,
}

/// The classification request for `query`.
pub fn prompt(query: &str, candidates: &[Candidate<'_>]) -> ir::Request {
    let clipped: String = query.chars().take(MAX_QUERY_CHARS).collect();
    let backends: Vec<String> = candidates
        .iter()
        .map(|c| {
            if c.specialties.is_empty() {
                format!("- {}", c.name)
            } else {
                format!("- {} (good at: {})", c.name, c.specialties.join(", "))
            }
        })
        .collect();
    let user = format!(
        "Backends:\n{}\n\nQuery:\n\"\"\"\n{}\n\"\"\"",
        backends.join("\n"),
        clipped
    );
    let text = |role, text: String| ir::Message {
        role,
        content: vec![Block::Text { text }],
    };
    ir::Request {
        messages: vec![
            text(Role::System, SYSTEM_PROMPT.to_owned()),
            text(Role::User, user),
        ],
        max_tokens: Some(400),
        temperature: Some(0.0),
        ..ir::Request::default()
    }
}

/// Reads a classification from a backend's answer: the text first, else the reasoning (some
/// local servers put everything in `reasoning_content`).
pub fn parse_response(response: &ir::Response) -> Result<Answer, String> {
    let text = response.text();
    match parse(&text) {
        Ok(answer) => Ok(answer),
        Err(first) => {
            let reasoning: String = response
                .content
                .iter()
                .filter_map(|b| match b {
                    Block::Reasoning { text, .. } => Some(text.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n");
            if reasoning.is_empty() {
                Err(first)
            } else {
                parse(&reasoning).map_err(|_| first)
            }
        }
    }
}

/// Reads a classification from text that holds a JSON object somewhere: after a `<think>`
/// block, inside a markdown fence, or among prose.
pub fn parse(text: &str) -> Result<Answer, String> {
    let text = strip_thinking(text);
    let mut last_error = "no JSON object in the answer".to_owned();
    // Try each `{` as the start of an object, the last one first: reasoning that quotes an
    // example object comes before the real answer.
    let starts: Vec<usize> = text.match_indices('{').map(|(i, _)| i).collect();
    for &start in starts.iter().rev() {
        let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        if let Some(Ok(value)) = stream.next() {
            match from_value(&value) {
                Ok(answer) => return Ok(answer),
                Err(e) => last_error = e,
            }
        }
    }
    Err(last_error)
}

/// Drops `<think>…</think>` blocks (and an unterminated one's opening).
fn strip_thinking(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("<think>") {
        out.push_str(&rest[..open]);
        match rest[open..].find("</think>") {
            Some(close) => rest = &rest[open + close + "</think>".len()..],
            None => {
                rest = &rest[open + "<think>".len()..];
                break;
            }
        }
    }
    out.push_str(rest);
    // A reasoning model may also close a block it never opened in the visible text.
    match out.rfind("</think>") {
        Some(i) => out[i + "</think>".len()..].to_owned(),
        None => out,
    }
}

fn from_value(value: &Value) -> Result<Answer, String> {
    let obj = value.as_object().ok_or("not a JSON object")?;
    let category = obj
        .get("category")
        .and_then(Value::as_str)
        .ok_or("no \"category\"")?;
    let category =
        Category::parse(category).ok_or_else(|| format!("unknown category {category:?}"))?;
    let confidence = match obj.get("confidence") {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.7),
        Some(Value::String(s)) => s.trim().trim_end_matches('%').parse().unwrap_or(0.7),
        _ => 0.7,
    };
    // Percentages happen.
    let confidence = if confidence > 1.0 {
        confidence / 100.0
    } else {
        confidence
    }
    .clamp(0.0, 1.0);
    let suggested_backends = obj
        .get("suggestedBackends")
        .or_else(|| obj.get("suggested_backends"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Ok(Answer {
        category,
        confidence,
        complexity: obj.get("complexity").and_then(Complexity::parse),
        suggested_backends,
        reasoning: obj
            .get("reasoning")
            .and_then(Value::as_str)
            .unwrap_or("")
            .chars()
            .take(300)
            .collect(),
    })
}

/// The cache key: lowercase, whitespace collapsed, trailing punctuation dropped.
pub fn normalize(query: &str) -> String {
    let mut out = String::with_capacity(query.len().min(MAX_QUERY_CHARS));
    for word in query.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
        if out.len() > MAX_QUERY_CHARS {
            break;
        }
    }
    out.trim_end_matches(['?', '!', '.', ' ']).to_owned()
}

/// A small LRU map: recency by a counter, eviction by the oldest stamp.
pub struct Lru<V> {
    capacity: usize,
    tick: u64,
    map: HashMap<String, (V, u64)>,
}

impl<V: Clone> Lru<V> {
    pub fn new(capacity: usize) -> Lru<V> {
        Lru {
            capacity,
            tick: 0,
            map: HashMap::new(),
        }
    }

    pub fn get(&mut self, key: &str) -> Option<V> {
        self.tick += 1;
        let tick = self.tick;
        self.map.get_mut(key).map(|(v, stamp)| {
            *stamp = tick;
            v.clone()
        })
    }

    pub fn put(&mut self, key: String, value: V) {
        if self.capacity == 0 {
            return;
        }
        self.tick += 1;
        self.map.insert(key, (value, self.tick));
        while self.map.len() > self.capacity {
            let oldest = self
                .map
                .iter()
                .min_by_key(|(_, (_, stamp))| *stamp)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => self.map.remove(&k),
                None => break,
            };
        }
    }

    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
        if capacity == 0 {
            self.map.clear();
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

/// Counters for `/debug/router`.
#[derive(Default)]
pub struct Stats {
    pub calls: AtomicU64,
    pub cache_hits: AtomicU64,
    pub timeouts: AtomicU64,
    pub failures: AtomicU64,
}

/// The classifier's memory: the cache, the counters and the rest period after a failure.
pub struct LlmClassifier {
    cache: Mutex<Lru<Answer>>,
    resting_until: Mutex<Option<Instant>>,
    pub stats: Stats,
}

impl LlmClassifier {
    pub fn new(cache_size: usize) -> LlmClassifier {
        LlmClassifier {
            cache: Mutex::new(Lru::new(cache_size)),
            resting_until: Mutex::new(None),
            stats: Stats::default(),
        }
    }

    pub fn set_cache_size(&self, size: usize) {
        self.cache.lock().set_capacity(size);
    }

    /// (entries, capacity) of the cache.
    pub fn cache_size(&self) -> (usize, usize) {
        let cache = self.cache.lock();
        (cache.len(), cache.capacity())
    }

    /// Asks `upstream` to classify `query`, waiting at most `timeout`; a failure or timeout
    /// makes the classifier rest for `cooldown`.
    pub fn classify(
        &self,
        upstream: &Arc<Upstream>,
        query: &str,
        candidates: &[Candidate<'_>],
        timeout: Duration,
        cooldown: Duration,
    ) -> Outcome {
        let key = normalize(query);
        if let Some(answer) = self.cache.lock().get(&key) {
            self.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Outcome::Answered {
                answer,
                cached: true,
            };
        }
        if let Some(until) = *self.resting_until.lock() {
            if Instant::now() < until {
                return Outcome::Resting;
            }
        }
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        let request = prompt(query, candidates);
        let (tx, rx) = crossbeam_channel::bounded(1);
        let upstream = upstream.clone();
        // The call runs on its own thread so the wait can end on time; the upstream's own
        // timeouts (set from `classifierTimeoutMs`) end the thread soon after.
        let spawned = std::thread::Builder::new()
            .name("llm-classifier".into())
            .spawn(move || {
                let _ = tx.send(crate::proxy::complete(&upstream, request));
            });
        if let Err(e) = spawned {
            return self.failed(format!("cannot start the classifier call: {e}"), cooldown);
        }
        match rx.recv_timeout(timeout) {
            Ok(Ok(response)) => match parse_response(&response) {
                Ok(answer) => {
                    self.cache.lock().put(key, answer.clone());
                    Outcome::Answered {
                        answer,
                        cached: false,
                    }
                }
                Err(e) => self.failed(format!("unusable classification: {e}"), cooldown),
            },
            Ok(Err(e)) => self.failed(e.message, cooldown),
            Err(_) => {
                self.stats.timeouts.fetch_add(1, Ordering::Relaxed);
                self.rest(cooldown);
                Outcome::TimedOut
            }
        }
    }

    fn failed(&self, message: String, cooldown: Duration) -> Outcome {
        self.stats.failures.fetch_add(1, Ordering::Relaxed);
        log::warn!("smart router: the LLM classifier failed: {message}");
        self.rest(cooldown);
        Outcome::Failed(message)
    }

    fn rest(&self, cooldown: Duration) {
        if !cooldown.is_zero() {
            *self.resting_until.lock() = Some(Instant::now() + cooldown);
        }
    }

    /// Forgets a rest period (a new config may have fixed the backend).
    pub fn wake(&self) {
        *self.resting_until.lock() = None;
    }

    pub fn stats_json(&self) -> Value {
        let (entries, capacity) = self.cache_size();
        json!({
            "calls": self.stats.calls.load(Ordering::Relaxed),
            "cacheHits": self.stats.cache_hits.load(Ordering::Relaxed),
            "timeouts": self.stats.timeouts.load(Ordering::Relaxed),
            "failures": self.stats.failures.load(Ordering::Relaxed),
            "cache": {"entries": entries, "capacity": capacity},
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_fenced_thinking_and_prose() {
        let plain = r#"{"category":"code","confidence":0.9,"complexity":"low","suggestedBackends":["coder"],"reasoning":"python"}"#;
        let a = parse(plain).unwrap();
        assert_eq!(a.category, Category::Code);
        assert_eq!(a.confidence, 0.9);
        assert_eq!(a.complexity, Some(Complexity::Low));
        assert_eq!(a.suggested_backends, vec!["coder".to_owned()]);

        let fenced = "Sure! Here it is:\n```json\n{\"category\": \"research\", \"confidence\": \"85%\"}\n```\n";
        let a = parse(fenced).unwrap();
        assert_eq!(a.category, Category::Research);
        assert!((a.confidence - 0.85).abs() < 1e-9);

        let thinking = "<think>The user says {\"category\": \"code\"}? No, it is chat.</think>\n{\"category\":\"chat\",\"confidence\":70}";
        let a = parse(thinking).unwrap();
        assert_eq!(a.category, Category::Conversation);
        assert!((a.confidence - 0.7).abs() < 1e-9);

        let unterminated = "</think>{\"category\":\"multi\"}";
        assert_eq!(parse(unterminated).unwrap().category, Category::Multi);
    }

    #[test]
    fn junk_is_an_error() {
        assert!(parse("I think this is about code.").is_err());
        assert!(parse("{\"category\": \"poetry\"}").is_err());
        assert!(parse("{not json").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn reasoning_content_is_read_when_the_text_is_empty() {
        let response = ir::Response {
            id: "x".into(),
            model: "m".into(),
            content: vec![Block::Reasoning {
                text: "{\"category\":\"complex\",\"confidence\":0.8}".into(),
                signature: None,
                redacted: None,
            }],
            stop_reason: ir::StopReason::EndTurn,
            usage: ir::Usage::default(),
        };
        assert_eq!(
            parse_response(&response).unwrap().category,
            Category::Complex
        );
    }

    #[test]
    fn normalized_keys_and_lru_eviction() {
        assert_eq!(normalize("  Hello   WORLD?! "), "hello world");
        assert_eq!(normalize("hello world"), normalize("Hello world."));
        let mut lru = Lru::new(2);
        lru.put("a".into(), 1);
        lru.put("b".into(), 2);
        assert_eq!(lru.get("a"), Some(1));
        lru.put("c".into(), 3);
        assert_eq!(lru.get("b"), None, "the least recently used goes");
        assert_eq!(lru.get("a"), Some(1));
        assert_eq!(lru.len(), 2);
    }

    #[test]
    fn the_prompt_names_backends_and_clips_the_query() {
        let long = "x".repeat(10_000);
        let request = prompt(
            &long,
            &[Candidate {
                name: "coder",
                specialties: vec!["code".into()],
            }],
        );
        let text = request.last_user_text();
        assert!(text.contains("coder (good at: code)"));
        assert!(text.len() < 2200);
        assert_eq!(request.messages[0].role, Role::System);
    }
}
