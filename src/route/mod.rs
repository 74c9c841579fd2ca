//! Backend choice: a pinned path wins, then a model that names a backend, then the smart router
//! (when on), then a `claude*` model to an Anthropic backend, then the default.

pub mod smart;

use crate::config::{BackendKind, Config};
use crate::dialect::Dialect;
use crate::error::{ErrorKind, GatewayError};

/// Why a backend was chosen; shown in logs and the `X-Routing-Reason` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The path named it (`/{backend}/v1/...`).
    Pinned,
    /// The request's `model` is the backend's name.
    ModelNamesBackend,
    /// A `claude*` model goes to a backend that speaks Anthropic.
    ClaudeModel,
    /// The smart router chose (its reason is in the decision).
    Smart,
    /// Nothing else applied.
    Default,
}

impl Reason {
    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::Pinned => "pinned",
            Reason::ModelNamesBackend => "model-names-backend",
            Reason::ClaudeModel => "claude-model",
            Reason::Smart => "smart",
            Reason::Default => "default",
        }
    }

    /// A choice the client made itself, which the smart router never overrides.
    pub fn is_explicit(&self) -> bool {
        matches!(self, Reason::Pinned | Reason::ModelNamesBackend)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub backend: String,
    pub reason: Reason,
}

/// Chooses the backend for a chat request.
pub fn choose(
    config: &Config,
    default_backend: &str,
    pinned: Option<&str>,
    model: Option<&str>,
) -> Result<Choice, GatewayError> {
    if let Some(name) = pinned {
        return match config.backend(name) {
            Some(_) => Ok(Choice {
                backend: name.to_owned(),
                reason: Reason::Pinned,
            }),
            None => Err(GatewayError::new(
                ErrorKind::NotFound,
                format!("no backend named {name:?} (configured: {})", names(config)),
            )),
        };
    }
    if let Some(model) = model {
        if config.backend(model).is_some() {
            return Ok(Choice {
                backend: model.to_owned(),
                reason: Reason::ModelNamesBackend,
            });
        }
        if model.to_ascii_lowercase().contains("claude") {
            let speaks_anthropic =
                |kind: BackendKind| kind == BackendKind::Http(Dialect::Anthropic);
            // The default backend keeps the request if it speaks Anthropic itself.
            let preferred = config
                .backend(default_backend)
                .filter(|b| speaks_anthropic(b.kind))
                .or_else(|| config.backends.iter().find(|b| speaks_anthropic(b.kind)));
            if let Some(backend) = preferred {
                return Ok(Choice {
                    backend: backend.name.clone(),
                    reason: Reason::ClaudeModel,
                });
            }
        }
    }
    Ok(Choice {
        backend: default_backend.to_owned(),
        reason: Reason::Default,
    })
}

fn names(config: &Config) -> String {
    config
        .backends
        .iter()
        .map(|b| b.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overrides, Source};

    fn config() -> Config {
        Config::parse(
            r#"{"backends": {"local": "http://localhost:8001", "claude": "https://api.anthropic.com",
                "coder": "http://localhost:8002"}, "defaultBackend": "local"}"#,
            Source::BuiltIn,
            &Overrides::default(),
        )
        .unwrap()
    }

    #[test]
    fn pinned_then_model_then_default() {
        let c = config();
        let pick = |pinned, model| choose(&c, "local", pinned, model).unwrap();
        assert_eq!(
            pick(Some("coder"), Some("claude-3")),
            Choice {
                backend: "coder".into(),
                reason: Reason::Pinned
            }
        );
        assert_eq!(pick(None, Some("coder")).reason, Reason::ModelNamesBackend);
        assert_eq!(pick(None, Some("claude-sonnet-4-5")).backend, "claude");
        assert_eq!(
            pick(None, Some("llama3")),
            Choice {
                backend: "local".into(),
                reason: Reason::Default
            }
        );
        assert_eq!(pick(None, None).reason, Reason::Default);
        let err = choose(&c, "local", Some("nope"), None).unwrap_err();
        assert_eq!(err.status, 404);
        assert!(
            err.message.contains("local, claude, coder")
                || err.message.contains("claude, coder, local")
        );
    }
}
