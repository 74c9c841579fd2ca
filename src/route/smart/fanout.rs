//! Fan-out: one request to several backends in parallel, their answers combined into one
//! response that says which backend wrote what (and which failed). The proxy encodes it in the
//! client's dialect, streamed or not, like any other answer.

use std::sync::Arc;

use crate::error::{ErrorKind, GatewayError};
use crate::ir::{self, Block, StopReason, Usage};
use crate::upstream::Upstream;

/// What one backend of a fan-out did.
pub struct Part {
    pub backend: String,
    pub result: Result<ir::Response, GatewayError>,
}

/// Asks every backend at once (each with its own timeouts) and waits for all.
pub fn ask_all(upstreams: &[(String, Option<Arc<Upstream>>)], request: &ir::Request) -> Vec<Part> {
    let mut request = request.clone();
    request.stream = false;
    std::thread::scope(|scope| {
        let handles: Vec<_> = upstreams
            .iter()
            .map(|(name, upstream)| {
                let request = request.clone();
                scope.spawn(move || Part {
                    backend: name.clone(),
                    result: match upstream {
                        Some(upstream) => crate::proxy::complete(upstream, request),
                        None => Err(GatewayError::internal(format!(
                            "backend {name} has no upstream"
                        ))),
                    },
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(upstreams)
            .map(|(handle, (name, _))| {
                handle.join().unwrap_or_else(|_| Part {
                    backend: name.clone(),
                    result: Err(GatewayError::internal("the fan-out call panicked")),
                })
            })
            .collect()
    })
}

/// Combines the parts: a section per answer headed by its backend, then a note on failures.
/// Fails (502) only when every backend failed.
pub fn combine(parts: Vec<Part>, category: &str) -> Result<ir::Response, GatewayError> {
    let answered: Vec<&Part> = parts.iter().filter(|p| p.result.is_ok()).collect();
    let failed: Vec<(&str, &GatewayError)> = parts
        .iter()
        .filter_map(|p| p.result.as_ref().err().map(|e| (p.backend.as_str(), e)))
        .collect();
    if answered.is_empty() {
        let details: Vec<String> = failed
            .iter()
            .map(|(name, e)| format!("{name}: {}", e.message))
            .collect();
        return Err(GatewayError::new(
            ErrorKind::BadGateway,
            format!(
                "every backend of the fan-out failed ({})",
                details.join("; ")
            ),
        ));
    }
    let names: Vec<&str> = answered.iter().map(|p| p.backend.as_str()).collect();
    let mut text = format!(
        "Answers from {} backends ({category}): {}\n",
        answered.len(),
        names.join(", ")
    );
    let mut usage = Usage::default();
    let mut first_id = None;
    for part in &answered {
        let Ok(response) = &part.result else { continue };
        first_id.get_or_insert_with(|| response.id.clone());
        usage.input_tokens += response.usage.input_tokens;
        usage.output_tokens += response.usage.output_tokens;
        usage.cache_read_tokens += response.usage.cache_read_tokens;
        usage.cache_creation_tokens += response.usage.cache_creation_tokens;
        usage.reasoning_tokens += response.usage.reasoning_tokens;
        let answer = response.text();
        let answer = answer.trim();
        text.push_str(&format!(
            "\n### {} ({})\n\n{}\n",
            part.backend,
            response.model,
            if answer.is_empty() {
                "(no text)"
            } else {
                answer
            }
        ));
    }
    if !failed.is_empty() {
        text.push_str("\n---\n");
        for (name, e) in &failed {
            text.push_str(&format!("_{name} did not answer: {}_\n", e.message));
        }
    }
    Ok(ir::Response {
        id: format!("fanout-{}", first_id.unwrap_or_default()),
        model: format!("fan-out:{}", names.join("+")),
        content: vec![Block::Text { text }],
        stop_reason: StopReason::EndTurn,
        usage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(text: &str, tokens: u64) -> ir::Response {
        ir::Response {
            id: "r1".into(),
            model: "m".into(),
            content: vec![Block::Text { text: text.into() }],
            stop_reason: StopReason::EndTurn,
            usage: Usage {
                input_tokens: tokens,
                output_tokens: tokens,
                ..Usage::default()
            },
        }
    }

    #[test]
    fn combines_with_attribution_and_names_the_failed() {
        let parts = vec![
            Part {
                backend: "a".into(),
                result: Ok(answer("Yes.", 10)),
            },
            Part {
                backend: "b".into(),
                result: Err(GatewayError::new(
                    ErrorKind::BadGateway,
                    "connection refused",
                )),
            },
            Part {
                backend: "c".into(),
                result: Ok(answer("No.", 5)),
            },
        ];
        let r = combine(parts, "multi").unwrap();
        let text = r.text();
        assert!(text.contains("### a (m)\n\nYes."), "{text}");
        assert!(text.contains("### c (m)\n\nNo."));
        assert!(text.contains("b did not answer: connection refused"));
        assert_eq!(r.usage.input_tokens, 15);
        assert_eq!(r.model, "fan-out:a+c");
    }

    #[test]
    fn all_failed_is_a_502() {
        let parts = vec![Part {
            backend: "a".into(),
            result: Err(GatewayError::internal("x")),
        }];
        let err = combine(parts, "multi").unwrap_err();
        assert_eq!(err.status, 502);
        assert!(err.message.contains("a: x"));
    }
}
