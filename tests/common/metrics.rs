//! A strict little parser for the Prometheus text exposition format (version 0.0.4): every sample
//! line is `name{labels} value [timestamp]`, and every family a sample belongs to has a `# HELP`
//! and a `# TYPE` line before its first sample.

use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

#[derive(Clone, Debug, Default)]
pub struct Metrics {
    pub samples: Vec<Sample>,
    pub help: HashMap<String, String>,
    pub types: HashMap<String, String>,
}

impl Metrics {
    /// The value of the sample with exactly these labels.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == want)
            .map(|s| s.value)
    }

    /// The sum over every sample of this name (any labels).
    pub fn sum(&self, name: &str) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .map(|s| s.value)
            .sum()
    }

    /// Every label value that `label` takes on samples of `name`.
    pub fn label_values(&self, name: &str, label: &str) -> Vec<String> {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter_map(|s| s.labels.get(label).cloned())
            .collect()
    }
}

fn valid_metric_name(n: &str) -> bool {
    let mut chars = n.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_label_name(n: &str) -> bool {
    let mut chars = n.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// The family a sample name belongs to, given the declared types.
fn family_of<'a>(name: &'a str, types: &HashMap<String, String>) -> Option<&'a str> {
    if types.contains_key(name) {
        return Some(name);
    }
    for suffix in ["_total", "_count", "_sum", "_bucket", "_created", "_info"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if types.contains_key(base) {
                return Some(base);
            }
        }
    }
    None
}

/// Parses label pairs from the text after `{`; returns the labels and the rest after `}`.
fn parse_labels(s: &str, line_no: usize) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        }
        let eq = rest
            .find('=')
            .ok_or(format!("line {line_no}: label without '='"))?;
        let name = rest[..eq].trim();
        if !valid_label_name(name) {
            return Err(format!("line {line_no}: bad label name {name:?}"));
        }
        rest = rest[eq + 1..].trim_start();
        rest = rest
            .strip_prefix('"')
            .ok_or(format!("line {line_no}: label value of {name} not quoted"))?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            let Some((i, c)) = chars.next() else {
                return Err(format!("line {line_no}: unterminated label value"));
            };
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    other => {
                        return Err(format!(
                            "line {line_no}: bad escape {other:?} in label value"
                        ))
                    }
                },
                '"' => break i,
                '\n' => return Err(format!("line {line_no}: raw newline in label value")),
                c => value.push(c),
            }
        };
        if labels.insert(name.to_string(), value).is_some() {
            return Err(format!("line {line_no}: label {name} repeated"));
        }
        rest = rest[end + 1..].trim_start();
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if !rest.starts_with('}') {
            return Err(format!(
                "line {line_no}: expected ',' or '}}' after a label"
            ));
        }
    }
}

/// Parses the whole exposition; the error names the line and what is wrong.
pub fn parse(text: &str) -> Result<Metrics, String> {
    let mut m = Metrics::default();
    let mut seen = HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let rest = rest.trim_start();
            if let Some(r) = rest.strip_prefix("HELP ") {
                let (name, help) = r.split_once(' ').unwrap_or((r, ""));
                if !valid_metric_name(name) {
                    return Err(format!("line {line_no}: HELP for bad name {name:?}"));
                }
                if m.help.insert(name.to_string(), help.to_string()).is_some() {
                    return Err(format!("line {line_no}: second HELP for {name}"));
                }
            } else if let Some(r) = rest.strip_prefix("TYPE ") {
                let (name, ty) = r
                    .split_once(' ')
                    .ok_or(format!("line {line_no}: TYPE without a type"))?;
                if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&ty.trim()) {
                    return Err(format!("line {line_no}: unknown type {ty:?}"));
                }
                if m.samples.iter().any(|s| {
                    family_of(&s.name, &HashMap::from([(name.to_string(), String::new())]))
                        .is_some()
                }) {
                    return Err(format!("line {line_no}: TYPE for {name} after its samples"));
                }
                if m.types
                    .insert(name.to_string(), ty.trim().to_string())
                    .is_some()
                {
                    return Err(format!("line {line_no}: second TYPE for {name}"));
                }
            }
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .ok_or(format!("line {line_no}: sample without value: {line:?}"))?;
        let name = &line[..name_end];
        if !valid_metric_name(name) {
            return Err(format!("line {line_no}: bad metric name {name:?}"));
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end + 1..], line_no)?
        } else {
            (BTreeMap::new(), &line[name_end..])
        };
        let mut fields = rest.split_whitespace();
        let value_text = fields
            .next()
            .ok_or(format!("line {line_no}: no value: {line:?}"))?;
        let value =
            parse_value(value_text).ok_or(format!("line {line_no}: bad value {value_text:?}"))?;
        if let Some(ts) = fields.next() {
            ts.parse::<i64>()
                .map_err(|_| format!("line {line_no}: bad timestamp {ts:?}"))?;
        }
        if fields.next().is_some() {
            return Err(format!("line {line_no}: trailing text: {line:?}"));
        }
        let family = family_of(name, &m.types).ok_or(format!(
            "line {line_no}: sample {name} has no # TYPE before it"
        ))?;
        if !m.help.contains_key(family) {
            return Err(format!(
                "line {line_no}: family {family} has no # HELP before its sample"
            ));
        }
        let key = format!("{name}{labels:?}");
        if !seen.insert(key) {
            return Err(format!("line {line_no}: duplicate sample {name}{labels:?}"));
        }
        m.samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok(m)
}
