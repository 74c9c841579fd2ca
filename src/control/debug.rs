//! The `/debug/*` JSON endpoints: health, logs, stats, tokens, models, switch, config, compare.
//! Field names are stable (camelCase) and documented in the README; the dashboard reads them.

use std::time::Instant;

use serde_json::{json, Map, Value};

use crate::config::{Config, Source};
use crate::error::{ErrorKind, GatewayError};
use crate::observe::stats;
use crate::server::Reply;
use crate::state::State;

/// `GET /debug/health`: healthy when every backend answered its last probe, degraded when some
/// did not but the default backend did, unhealthy when the default backend is down.
pub fn health(state: &State) -> Reply {
    let config = state.config();
    let board = state.health.all();
    let default = state.default_backend();
    let mut backends = Map::new();
    let (mut down, mut default_down) = (0, false);
    for backend in &config.backends {
        let h = board.get(&backend.name).cloned().unwrap_or_default();
        if h.up == Some(false) {
            down += 1;
            default_down |= backend.name == default;
        }
        backends.insert(
            backend.name.clone(),
            json!({
                "status": match h.up { Some(true) => "up", Some(false) => "down", None => "unknown" },
                "reachable": h.up,
                "lastCheckMs": h.last_check_ms,
                "latencyMs": h.latency_ms,
                "error": h.error,
                "default": backend.name == default,
                "circuit": state.breakers.describe(&backend.name),
            }),
        );
        if state.breakers.is_open(&backend.name) && h.up != Some(false) {
            // Requests skip it even though the prober reaches it.
            down += 1;
        }
    }
    let status = if default_down {
        "unhealthy"
    } else if down > 0 {
        "degraded"
    } else {
        "healthy"
    };
    // Unhealthy answers 503 so load balancers and Docker's HEALTHCHECK can act on the status alone.
    let code = if status == "unhealthy" { 503 } else { 200 };
    Reply::pretty(
        code,
        &json!({
            "status": status,
            "version": env!("CARGO_PKG_VERSION"),
            "uptimeSeconds": state.started.elapsed().as_secs(),
            "defaultBackend": default,
            "smartRouting": state.smart_routing(),
            "inFlight": state.books.snapshot().in_flight,
            "backends": backends,
        }),
    )
}

/// `GET /debug/logs?limit=N&backend=X&status=S`: newest first. `status` is a code (`502`), a
/// class (`5xx`), `error` or `ok`.
pub fn logs(state: &State, url: &str) -> Result<Reply, GatewayError> {
    let limit = match query(url, "limit") {
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| GatewayError::invalid("limit: expected a positive whole number"))?
            .min(crate::observe::LOG_CAPACITY),
        None => 50,
    };
    let backend = query(url, "backend");
    let status = query(url, "status");
    let status_ok = |code: u16, failed: bool| match status.as_deref() {
        None | Some("") | Some("all") => true,
        Some("error") | Some("errors") => code >= 400 || failed,
        Some("ok") | Some("success") => code < 400 && !failed,
        Some(s) if s.len() == 3 && s.ends_with("xx") => {
            s.as_bytes()[0].wrapping_sub(b'0') as u16 == code / 100
        }
        Some(s) => s.parse::<u16>().is_ok_and(|c| c == code),
    };
    let include_body = state.config().logging.include_body;
    let entries: Vec<Value> = state
        .books
        .recent(crate::observe::LOG_CAPACITY)
        .into_iter()
        .filter(|e| {
            backend
                .as_deref()
                .is_none_or(|b| e.backend.as_deref() == Some(b))
        })
        .filter(|e| status_ok(e.status, e.error.is_some()))
        .take(limit)
        .map(|mut e| {
            if !include_body {
                e.request_body = None;
            }
            serde_json::to_value(e).unwrap_or(Value::Null)
        })
        .collect();
    Ok(Reply::pretty(
        200,
        &json!({"count": entries.len(), "logs": entries}),
    ))
}

/// `GET /debug/stats`.
pub fn stats(state: &State) -> Reply {
    let entries = state.books.all_entries();
    let mut doc = stats::compute(&entries, &state.books.snapshot());
    doc["uptimeSeconds"] = json!(state.started.elapsed().as_secs());
    doc["defaultBackend"] = json!(state.default_backend());
    Reply::pretty(200, &doc)
}

/// `GET /debug/tokens`.
pub fn tokens(state: &State) -> Reply {
    let snapshot = state.books.snapshot();
    Reply::pretty(
        200,
        &json!({
            "input": snapshot.input_tokens_total,
            "output": snapshot.output_tokens_total,
            "total": snapshot.input_tokens_total.saturating_add(snapshot.output_tokens_total),
            "byBackend": stats::tokens_by_backend(&snapshot),
        }),
    )
}

/// `GET /debug/models`: each backend with its status, models, default flag and capabilities.
pub fn models(state: &State) -> Reply {
    let config = state.config();
    let board = state.health.all();
    let default = state.default_backend();
    let backends: Vec<Value> = config
        .backends
        .iter()
        .map(|b| {
            let h = board.get(&b.name).cloned().unwrap_or_default();
            let api = b.api_name();
            json!({
                "name": b.name,
                "url": b.url,
                "api": api,
                "status": match h.up { Some(true) => "up", Some(false) => "down", None => "unknown" },
                "models": h.models,
                "configuredModel": b.model,
                "default": b.name == default,
                "specialties": b.extra.get("specialties"),
                "contextWindow": b.extra.get("contextWindow"),
                "capabilities": {
                    "streaming": true,
                    "tools": true,
                    "nativeDialect": api,
                    "clientDialects": ["openai", "anthropic", "responses"],
                    "countTokens": if api == "anthropic" { "native" } else { "estimate" },
                },
            })
        })
        .collect();
    Reply::pretty(
        200,
        &json!({"defaultBackend": default, "backends": backends}),
    )
}

/// `GET /debug/switch`: the current default backend and the choices.
pub fn switch_status(state: &State) -> Reply {
    let config = state.config();
    let names: Vec<&str> = config.backends.iter().map(|b| b.name.as_str()).collect();
    Reply::pretty(
        200,
        &json!({"current": state.default_backend(), "configured": config.default_backend, "backends": names}),
    )
}

/// `POST /debug/switch` with `{"backend": "name"}`.
pub fn switch(state: &State, body: &[u8]) -> Result<Reply, GatewayError> {
    let value = parse_json(body)?;
    let name = value
        .get("backend")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            GatewayError::invalid("backend: expected a backend name, as {\"backend\": \"name\"}")
        })?;
    let previous = state
        .set_default_backend(name)
        .map_err(|e| GatewayError::new(ErrorKind::NotFound, e))?;
    log::info!("default backend switched from {previous} to {name}");
    Ok(Reply::pretty(
        200,
        &json!({"success": true, "previous": previous, "current": name}),
    ))
}

/// `GET /debug/config`: the running config, secrets redacted.
pub fn config(state: &State) -> Reply {
    let config = state.config();
    let source = match &config.source {
        Source::File(p) => p.display().to_string(),
        Source::BuiltIn => "built-in defaults".into(),
    };
    Reply::pretty(
        200,
        &json!({"source": source, "config": config.redacted_json()}),
    )
}

/// `POST /debug/config`: a partial update (JSON merge patch, RFC 7386) of the running config,
/// validated as a whole and applied at once; a bad update changes nothing. Server settings
/// (ports, workers) are bound at start and need a restart. An empty body (or
/// `{"reload": true}`) reloads the config file instead, as SIGHUP does.
pub fn update_config(state: &State, body: &[u8]) -> Result<Reply, GatewayError> {
    let reload = body.iter().all(u8::is_ascii_whitespace)
        || serde_json::from_slice::<Value>(body).is_ok_and(|v| v == json!({"reload": true}));
    if reload {
        state.reload().map_err(|e| {
            GatewayError::invalid(format!("config reload rejected, nothing changed: {e}"))
        })?;
        log::info!("config reloaded through /debug/config");
        return Ok(Reply::pretty(
            200,
            &json!({"success": true, "reloaded": state.config_path.display().to_string(),
                "config": state.config().redacted_json(), "defaultBackend": state.default_backend()}),
        ));
    }
    let patch = parse_json(body)?;
    if !patch.is_object() {
        return Err(GatewayError::invalid(
            "expected a JSON object with the fields to change",
        ));
    }
    // A config read from GET and posted back carries "[redacted]" where secrets were: those
    // mean "keep the current value", never the placeholder itself.
    let mut patch = patch;
    drop_redacted(&mut patch);
    let current = state.config();
    let running = current.redacted_json();
    let mut merged = current.raw.0.clone();

    merge_patch(&mut merged, &patch);
    let text = merged.to_string();
    let new = Config::parse(&text, current.source.clone(), &state.overrides).map_err(|e| {
        GatewayError::invalid(format!(
            "config update rejected, nothing changed: {}: {}",
            e.field, e.message
        ))
    })?;
    let restart: Vec<&str> = ["bind", "port", "metricsPort"]
        .into_iter()
        // Values the patch sets to something other than what runs now.
        .filter(|k| {
            let asked = patch.pointer(&format!("/server/{k}"));
            asked.is_some() && asked != running["server"].get(*k)
        })
        .collect();

    let default_changed = patch.get("defaultBackend").is_some();
    log::info!("config updated through /debug/config");
    state.apply_config(new, default_changed);
    Ok(Reply::pretty(
        200,
        &json!({
            "success": true,
            "config": state.config().redacted_json(),
            "defaultBackend": state.default_backend(),
            "restartRequired": restart.iter().map(|k| format!("server.{k}")).collect::<Vec<_>>(),
        }),
    ))
}

/// Removes every `"[redacted]"` value (and array of them) from a patch, so the merge keeps
/// what is there.
fn drop_redacted(value: &mut Value) {
    const REDACTED: &str = "[redacted]";
    if let Value::Object(map) = value {
        map.retain(|_, v| match v {
            Value::String(s) => s != REDACTED,
            Value::Array(items) => items.is_empty() || !items.iter().all(|i| i == REDACTED),
            _ => true,
        });
        map.values_mut().for_each(drop_redacted);
    }
}

/// RFC 7386: objects merge key by key, `null` removes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

/// `POST /debug/compare`: one chat request (OpenAI chat shape, optionally with `"backends"`)
/// sent to every backend in parallel, each in its own dialect.
pub fn compare(state: &State, body: &[u8]) -> Result<Reply, GatewayError> {
    let value = parse_json(body)?;
    let mut request = crate::dialect::Dialect::OpenAiChat.decode_request(&value)?;
    request.stream = false;
    let config = state.config();
    let wanted: Option<Vec<String>> = value.get("backends").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    });
    if let Some(names) = &wanted {
        if let Some(unknown) = names.iter().find(|n| config.backend(n).is_none()) {
            return Err(GatewayError::new(
                ErrorKind::NotFound,
                format!("no backend named {unknown:?}"),
            ));
        }
    }
    let upstreams = state.upstreams();
    let targets: Vec<_> = config
        .backends
        .iter()
        .filter(|b| wanted.as_ref().is_none_or(|w| w.contains(&b.name)))
        .filter_map(|b| upstreams.get(&b.name))
        .collect();
    let results: Vec<Value> = std::thread::scope(|scope| {
        let handles: Vec<_> = targets
            .iter()
            .map(|upstream| {
                let request = request.clone();
                scope.spawn(move || {
                    let started = Instant::now();
                    let result = crate::proxy::complete(upstream, request);
                    let ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0;
                    let name = &upstream.backend().name;
                    match result {
                        Ok(r) => json!({"backend": name, "status": 200, "latencyMs": ms, "text": r.text(),
                            "stopReason": format!("{:?}", r.stop_reason), "inputTokens": r.usage.input_tokens,
                            "outputTokens": r.usage.output_tokens, "error": null}),
                        Err(e) => json!({"backend": name, "status": e.status, "latencyMs": ms, "text": null,
                            "inputTokens": 0, "outputTokens": 0, "error": e.message}),
                    }
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    Ok(Reply::pretty(200, &json!({"results": results})))
}

pub fn parse_json(body: &[u8]) -> Result<Value, GatewayError> {
    serde_json::from_slice(body)
        .map_err(|e| GatewayError::invalid(format!("request body is not valid JSON: {e}")))
}

/// One query parameter, percent-decoded.
pub fn query(url: &str, key: &str) -> Option<String> {
    let (_, q) = url.split_once('?')?;
    q.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_follows_rfc7386() {
        let mut target = json!({"a": {"b": 1, "c": 2}, "d": [1], "e": 1});
        merge_patch(
            &mut target,
            &json!({"a": {"b": 5, "c": null}, "d": [2], "f": "new"}),
        );
        assert_eq!(target, json!({"a": {"b": 5}, "d": [2], "e": 1, "f": "new"}));
    }

    #[test]
    fn redacted_placeholders_are_dropped_from_patches() {
        let mut patch = json!({"backends": {"a": {"apiKey": "[redacted]", "url": "http://x"}},
            "auth": {"apiKeys": ["[redacted]", "[redacted]"], "adminToken": "new"}});
        drop_redacted(&mut patch);
        assert_eq!(
            patch,
            json!({"backends": {"a": {"url": "http://x"}}, "auth": {"adminToken": "new"}})
        );
    }

    #[test]
    fn query_parameters_are_decoded() {
        assert_eq!(
            query("/debug/logs?limit=5&backend=my%20box", "backend").as_deref(),
            Some("my box")
        );
        assert_eq!(query("/debug/logs?limit=5", "limit").as_deref(), Some("5"));
        assert_eq!(query("/debug/logs", "limit"), None);
        assert_eq!(query("/x?a=%zz%4", "a").as_deref(), Some("%zz%4"));
        assert_eq!(query("/x?a=%é%", "a").as_deref(), Some("%é%"));
    }
}
