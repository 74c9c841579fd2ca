//! The quick classifier: a hand-tuned keyword and structure scorer, built in, no model, no
//! network, deterministic, a few microseconds per query.
//!
//! Why a hand-tuned scorer and not a table trained offline: the labelled set has a few hundred
//! prompts, far too few for a learned table to know that `kubectl`, `segfault` or `limerick`
//! mean what they mean; a person's lexicon carries that knowledge, and it stays explainable
//! (the matched cues become the routing reason). Each category gets a score from three sources:
//! the lexicon ([`super::lexicon`], words and two- or three-word phrases), the shape of the text
//! (code fences, identifiers, stack-trace lines, file names, operators) and light context (the
//! previous turns at a third of their weight, coding tools in the request, the length of the
//! query). A softmax over the scores, with a temperature fitted on the tuning part of the
//! labelled set, gives a calibrated confidence.
//!
//! The scan is bounded (the first [`SCAN_BYTES`] of each message), allocation-light (words are
//! hashed, never copied) and uses one lookup table built once.

use std::fmt;

use crate::ir::{self, Block, Role};

use super::lexicon::{self, Lexicon};

/// The part of a message that is read; a pasted log's tail adds nothing the head did not say.
pub const SCAN_BYTES: usize = 6 * 1024;
/// The weight of earlier turns against the last user message.
const CONTEXT_WEIGHT: f32 = 0.35;
/// The softmax temperature, fitted on `tests/data/router/tune.jsonl` so that the confidence of
/// the answers matches their accuracy (see `make eval-router`, "calibration").
const TEMPERATURE: f32 = 1.6;

/// What a query is about; each maps to backends through their `specialties`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Programming: writing, reading, debugging code; tools, shells, databases, errors.
    Code,
    /// Knowledge: science, history, how things work, finance, health, travel facts.
    Research,
    /// Chat: greetings, small talk, creative writing, rewriting, planning, light advice.
    Conversation,
    /// Hard analysis: strategy, trade-offs, philosophy, proofs, multi-step reasoning.
    Complex,
    /// Several viewpoints wanted: debates, both sides, "what would X and Y say" (fan-out).
    Multi,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::Code,
        Category::Research,
        Category::Conversation,
        Category::Complex,
        Category::Multi,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Code => "code",
            Category::Research => "research",
            Category::Conversation => "conversation",
            Category::Complex => "complex",
            Category::Multi => "multi",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// A category by name, with the synonyms an LLM or a user is likely to write.
    pub fn parse(name: &str) -> Option<Category> {
        let name = name.trim().to_ascii_lowercase();
        Some(match name.as_str() {
            "code" | "coding" | "programming" | "software" | "debugging" => Category::Code,
            "research" | "knowledge" | "factual" | "facts" | "science" | "question" => {
                Category::Research
            }
            "conversation" | "chat" | "conversational" | "smalltalk" | "small talk"
            | "creative" | "general" | "casual" => Category::Conversation,
            "complex" | "analysis" | "reasoning" | "expert" | "analytical" | "hard" => {
                Category::Complex
            }
            "multi" | "multiple" | "multi-perspective" | "perspectives" | "debate" => {
                Category::Multi
            }
            _ => return None,
        })
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How demanding a query looks, for the LLM prompt's shape and for backend choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Complexity {
    Low,
    Medium,
    High,
}

impl Complexity {
    pub fn as_str(self) -> &'static str {
        match self {
            Complexity::Low => "low",
            Complexity::Medium => "medium",
            Complexity::High => "high",
        }
    }

    pub fn parse(value: &serde_json::Value) -> Option<Complexity> {
        if let Some(n) = value.as_f64() {
            // A number: 0..1 or 1..10 scales both occur.
            let n = if n > 1.0 { n / 10.0 } else { n };
            return Some(if n < 0.34 {
                Complexity::Low
            } else if n < 0.67 {
                Complexity::Medium
            } else {
                Complexity::High
            });
        }
        match value.as_str()?.trim().to_ascii_lowercase().as_str() {
            "low" | "simple" | "easy" | "trivial" => Some(Complexity::Low),
            "medium" | "moderate" | "mid" => Some(Complexity::Medium),
            "high" | "hard" | "complex" | "expert" | "very high" => Some(Complexity::High),
            _ => None,
        }
    }
}

/// The quick classifier's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Quick {
    pub category: Category,
    /// The softmax probability of `category`, in 0..1.
    pub confidence: f64,
    pub complexity: Complexity,
    /// Raw scores, by [`Category::index`].
    pub scores: [f32; 5],
    /// The strongest cues for the winning category, for the routing reason.
    pub cues: Vec<&'static str>,
}

impl Quick {
    /// A short human reason: "quick: code (0.93; python, traceback)".
    pub fn reason(&self) -> String {
        if self.cues.is_empty() {
            format!("{} ({:.2})", self.category, self.confidence)
        } else {
            format!(
                "{} ({:.2}; {})",
                self.category,
                self.confidence,
                self.cues.join(", ")
            )
        }
    }
}

/// Classifies a request from its last user text and light context.
pub fn classify(request: &ir::Request) -> Quick {
    let lex = lexicon::get();
    let mut acc = Accumulator::default();
    let (last, earlier) = split_turns(request);
    let text = last.unwrap_or("");
    let shape = scan(lex, text, 1.0, &mut acc);
    // Light context: the turn before (user or assistant) and code anywhere in recent turns.
    let mut context_code = false;
    for previous in earlier.iter().take(2) {
        let mut ctx = Accumulator::default();
        let previous_shape = scan(lex, previous, CONTEXT_WEIGHT, &mut ctx);
        for (total, part) in acc.scores.iter_mut().zip(ctx.scores) {
            *total += part;
        }
        context_code |= previous_shape.code_structure >= 4.0;
    }
    if context_code {
        acc.add(Category::Code, 2.0, "code earlier in the conversation");
    }
    if request
        .tools
        .iter()
        .any(|t| lexicon::is_coding_tool(&t.name))
    {
        acc.add(Category::Code, 4.0, "coding tools");
    }
    apply_shape(&shape, &mut acc);
    finish(acc, &shape)
}

/// Classifies a bare query (the `classify` debug action and the tests).
pub fn classify_text(query: &str) -> Quick {
    classify(&ir::Request {
        messages: vec![ir::Message {
            role: Role::User,
            content: vec![Block::Text {
                text: query.to_owned(),
            }],
        }],
        ..ir::Request::default()
    })
}

/// The last user text (skipping turns that carry only tool results) and the texts of up to two
/// turns before it, most recent first.
fn split_turns(request: &ir::Request) -> (Option<&str>, Vec<&str>) {
    fn texts(m: &ir::Message) -> Option<&str> {
        m.content.iter().find_map(|b| match b {
            Block::Text { text } if !text.trim().is_empty() => Some(text.as_str()),
            _ => None,
        })
    }
    let mut last = None;
    let mut earlier = Vec::new();
    for message in request.messages.iter().rev() {
        if message.role == Role::System {
            continue;
        }
        if last.is_none() {
            if message.role == Role::User {
                last = texts(message);
            }
            continue;
        }
        if let Some(text) = texts(message) {
            earlier.push(text);
            if earlier.len() == 2 {
                break;
            }
        }
    }
    (last, earlier)
}

/// Scores by category plus the cues that earned them.
#[derive(Default)]
pub(super) struct Accumulator {
    scores: [f32; 5],
    /// (category, weight, cue), the strongest kept for the reason.
    cues: Vec<(Category, f32, &'static str)>,
    /// Lexicon entries already counted: each counts once per message, so a pasted log that
    /// says `hi` two hundred times is not a greeting.
    seen: Vec<u64>,
}

impl Accumulator {
    /// Whether the entry is new to this message (and remembers it).
    pub(super) fn first_sight(&mut self, hash: u64) -> bool {
        if self.seen.contains(&hash) {
            return false;
        }
        self.seen.push(hash);
        true
    }

    pub(super) fn add(&mut self, category: Category, weight: f32, cue: &'static str) {
        self.scores[category.index()] += weight;
        if weight >= 1.0 && self.cues.len() < 24 {
            self.cues.push((category, weight, cue));
        }
    }
}

/// What the text looks like, apart from its words.
#[derive(Debug, Default, Clone)]
struct Shape {
    words: usize,
    /// Evidence of code in the text's form (fences, operators, identifiers, file names).
    code_structure: f32,
    question: bool,
    /// Starts with who/what/when/where/why/how/which.
    wh_start: bool,
    /// Starts with an imperative writing verb (write, draft, make, create, ...).
    write_start: bool,
    digits: usize,
}

/// Reads `text` (bounded), adding lexicon weights times `weight` into `acc`.
fn scan(lex: &Lexicon, text: &str, weight: f32, acc: &mut Accumulator) -> Shape {
    let mut end = text.len().min(SCAN_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let text = &text[..end];
    let bytes = text.as_bytes();
    let mut shape = Shape::default();
    let mut structure = Structure::default();

    // Hashes of the last three words, for phrases.
    let (mut prev1, mut prev2, mut prev3): (Option<u64>, Option<u64>, Option<u64>) =
        (None, None, None);
    let mut i = 0;
    let mut first_word = true;
    let mut indented_code_lines = 0u32;
    while i < bytes.len() {
        let b = bytes[i];
        if is_word_byte(b) {
            let start = i;
            let mut hash = lexicon::FNV_OFFSET;
            let mut has_lower = false;
            let mut camel = false;
            let mut underscore_inside = false;
            let mut digits_only = true;
            while i < bytes.len() && is_word_byte(bytes[i]) {
                let c = bytes[i];
                if c.is_ascii_uppercase() && has_lower && i > start {
                    camel = true;
                }
                if c.is_ascii_lowercase() {
                    has_lower = true;
                }
                if c == b'_' && i > start {
                    underscore_inside = true;
                }
                if !c.is_ascii_digit() {
                    digits_only = false;
                }
                hash = lexicon::fnv_step(hash, c.to_ascii_lowercase());
                i += 1;
            }
            let word = &bytes[start..i];
            if digits_only {
                shape.digits += 1;
            }
            // `c++`, `c#`, `f#`: languages whose names are not words.
            if word.len() == 1 && i < bytes.len() {
                let rest = &bytes[i..];
                if rest.starts_with(b"++") || rest.starts_with(b"#") {
                    hash = lexicon::fnv_step(hash, b'+');
                    i += if rest[0] == b'#' { 1 } else { 2 };
                }
            }
            shape.words += 1;
            if first_word {
                first_word = false;
                shape.wh_start = lex.is_wh(hash);
                shape.write_start = lex.is_write_verb(hash);
            }
            // Identifiers: snake_case, camelCase, and error types (TypeError, NullPointerException).
            if underscore_inside && word.iter().any(u8::is_ascii_alphabetic) {
                structure.identifiers += 1;
            } else if camel {
                let lower_ends = |suffix: &[u8]| {
                    word.len() > suffix.len() + 2
                        && word[word.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
                };
                if lower_ends(b"error") || lower_ends(b"exception") {
                    structure.error_types += 1;
                } else {
                    structure.camel += 1;
                }
            }
            // `name.ext` file names and `Next.js`-style names.
            if start > 1
                && bytes[start - 1] == b'.'
                && is_word_byte(bytes[start - 2])
                && lexicon::is_code_extension(word)
            {
                structure.file_names += 1;
            }
            lex.lookup(hash, weight, acc);
            if let Some(p1) = prev1 {
                lex.lookup(lexicon::combine(p1, hash), weight, acc);
                if let Some(p2) = prev2 {
                    let p21 = lexicon::combine(p2, p1);
                    lex.lookup(lexicon::combine(p21, hash), weight, acc);
                    if let Some(p3) = prev3 {
                        let p321 = lexicon::combine(lexicon::combine(p3, p2), p1);
                        lex.lookup(lexicon::combine(p321, hash), weight, acc);
                    }
                }
            }
            prev3 = prev2;
            prev2 = prev1;
            prev1 = Some(hash);
            continue;
        }
        match b {
            b'\n' => {
                // Indented lines that carry code punctuation.
                let rest = &bytes[i + 1..];
                let indent = rest
                    .iter()
                    .take_while(|c| **c == b' ' || **c == b'\t')
                    .count();
                if indent >= 2 {
                    let line_end = rest.iter().position(|c| *c == b'\n').unwrap_or(rest.len());
                    let line = &rest[indent..line_end];
                    if line.iter().any(|c| b"(){}[];=:.<>\"'".contains(c)) {
                        indented_code_lines += 1;
                    }
                }
            }
            b'`' => {
                if bytes[i..].starts_with(b"```") {
                    structure.fences += 1;
                    i += 3;
                    continue;
                }
                structure.backticks += 1;
            }
            b'{' | b'}' | b';' => structure.braces += 1,
            b'$' => {
                if bytes
                    .get(i + 1)
                    .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'(' || *c == b'{')
                {
                    structure.operators += 1;
                }
            }
            b'(' if bytes.get(i + 1) == Some(&b')') => structure.calls += 1,
            b'?' => shape.question = true,
            _ => {
                if i + 1 < bytes.len() {
                    let pair = &bytes[i..i + 2];
                    if lexicon::OPERATORS.contains(&pair) {
                        structure.operators += 1;
                        i += 2;
                        continue;
                    }
                }
            }
        }
        // Phrases do not run across punctuation other than spaces and hyphens.
        if !(b == b' ' || b == b'-' || b == b'\'') {
            prev1 = None;
            prev2 = None;
            prev3 = None;
        }
        i += 1;
    }
    structure.indented = indented_code_lines;
    shape.code_structure = structure.score();
    shape
}

/// Counts of code-shaped things in a text.
#[derive(Default)]
struct Structure {
    fences: u32,
    backticks: u32,
    braces: u32,
    operators: u32,
    calls: u32,
    identifiers: u32,
    camel: u32,
    error_types: u32,
    file_names: u32,
    indented: u32,
}

impl Structure {
    fn score(&self) -> f32 {
        let capped = |n: u32, each: f32, cap: f32| (n as f32 * each).min(cap);
        let mut score = capped(self.fences, 8.0, 8.0)
            + capped(self.backticks / 2, 1.5, 4.5)
            + capped(self.braces, 0.7, 5.0)
            + capped(self.operators, 1.5, 6.0)
            + capped(self.calls, 1.5, 4.5)
            + capped(self.identifiers, 1.5, 4.5)
            + capped(self.camel, 0.8, 2.4)
            + capped(self.error_types, 4.0, 8.0)
            + capped(self.file_names, 2.5, 5.0);
        if self.indented >= 2 {
            score += capped(self.indented, 1.0, 4.0);
        }
        score
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Length and sentence-form priors, and the structure score as a code cue.
fn apply_shape(shape: &Shape, acc: &mut Accumulator) {
    if shape.code_structure > 0.0 {
        acc.add(Category::Code, shape.code_structure, "code-shaped text");
    }
    if shape.words <= 3 {
        acc.add(Category::Conversation, 1.5, "short message");
    }
    if shape.wh_start {
        acc.add(Category::Research, 1.0, "a question");
    } else if shape.question {
        acc.add(Category::Research, 0.5, "a question");
    } else if !shape.write_start && shape.words < 12 {
        acc.add(Category::Conversation, 0.5, "a remark");
    }
    if shape.write_start {
        acc.add(Category::Conversation, 0.8, "a writing request");
    }
    if shape.words > 35 {
        acc.add(Category::Complex, 1.0, "a long, detailed question");
    }
    if shape.words > 60 {
        acc.add(Category::Complex, 0.8, "a long, detailed question");
    }
}

fn finish(acc: Accumulator, shape: &Shape) -> Quick {
    let scores = acc.scores;
    let (best, _) =
        scores.iter().enumerate().fold(
            (0, f32::MIN),
            |(bi, bs), (i, s)| if *s > bs { (i, *s) } else { (bi, bs) },
        );
    let category = Category::ALL[best];
    let max = scores[best];
    let total: f32 = scores.iter().map(|s| ((s - max) / TEMPERATURE).exp()).sum();
    let confidence = (1.0 / total) as f64;
    let mut cues: Vec<(f32, &'static str)> = Vec::new();
    for (c, w, cue) in acc.cues {
        if c != category {
            continue;
        }
        match cues.iter_mut().find(|(_, name)| *name == cue) {
            Some(entry) => entry.0 += w,
            None => cues.push((w, cue)),
        }
    }
    cues.sort_by(|a, b| b.0.total_cmp(&a.0));
    let complex_score = scores[Category::Complex.index()];
    let complexity = if category == Category::Complex || shape.words > 80 || complex_score > 5.0 {
        Complexity::High
    } else if shape.words < 12 && category == Category::Conversation {
        Complexity::Low
    } else {
        Complexity::Medium
    };
    Quick {
        category,
        confidence: (confidence * 1000.0).round() / 1000.0,
        complexity,
        scores,
        cues: cues.into_iter().take(3).map(|(_, cue)| cue).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn category(q: &str) -> Category {
        classify_text(q).category
    }

    #[test]
    fn clear_cases_land_where_they_belong() {
        assert_eq!(category("hi there!"), Category::Conversation);
        assert_eq!(
            category("Write a haiku about the sea"),
            Category::Conversation
        );
        assert_eq!(
            category("How do I reverse a linked list in Rust?"),
            Category::Code
        );
        assert_eq!(
            category("Traceback (most recent call last):\n  File \"x.py\", line 3\nKeyError: 'a'"),
            Category::Code
        );
        assert_eq!(
            category("Who was the first emperor of Rome?"),
            Category::Research
        );
        assert_eq!(
            category("Critically evaluate the long-term implications of UBI on labor markets."),
            Category::Complex
        );
        assert_eq!(
            category("Give me multiple perspectives on nuclear power: both sides of the debate."),
            Category::Multi
        );
    }

    #[test]
    fn deterministic_and_bounded_confidence() {
        let a = classify_text("Explain how vaccines work");
        let b = classify_text("Explain how vaccines work");
        assert_eq!(a, b);
        assert!(a.confidence > 0.2 && a.confidence <= 1.0);
        let empty = classify_text("");
        assert_eq!(empty.category, Category::Conversation);
    }

    #[test]
    fn context_and_tools_count() {
        let msg = |role, text: &str| ir::Message {
            role,
            content: vec![Block::Text { text: text.into() }],
        };
        let request = ir::Request {
            messages: vec![
                msg(Role::User, "```python\nimport os\nprint(os.listdir())\n```"),
                msg(Role::Assistant, "That lists the current directory."),
                msg(Role::User, "and why is it sorted weirdly?"),
            ],
            ..ir::Request::default()
        };
        assert_eq!(classify(&request).category, Category::Code);
        let agent = ir::Request {
            messages: vec![msg(Role::User, "go ahead")],
            tools: vec![ir::Tool {
                name: "Bash".into(),
                description: None,
                parameters: serde_json::json!({}),
            }],
            ..ir::Request::default()
        };
        assert_eq!(classify(&agent).category, Category::Code);
    }

    #[test]
    fn a_huge_paste_is_read_only_in_part() {
        let big = "fn main() { println!(\"hi\"); }\n".repeat(10_000);
        let quick = classify_text(&big);
        assert_eq!(quick.category, Category::Code);
    }

    #[test]
    fn categories_parse_with_synonyms() {
        assert_eq!(Category::parse("Coding"), Some(Category::Code));
        assert_eq!(Category::parse("chat"), Some(Category::Conversation));
        assert_eq!(Category::parse("nope"), None);
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(c));
        }
    }
}
