//! The one error type of the gateway: an HTTP status, a stable kind and a message.
//!
//! Every failure a client can see becomes a [`GatewayError`]; the client's dialect decides how it
//! is rendered (see `dialect::Dialect::error_body`). Kinds double as low-cardinality metric labels.

use std::fmt;

/// What went wrong, in terms a client can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed or asks for something impossible (400).
    InvalidRequest,
    /// Missing or wrong credentials (401).
    Authentication,
    /// The credentials are fine but not allowed this action (403).
    Permission,
    /// No such endpoint, backend or model (404).
    NotFound,
    /// The endpoint exists but not for this method (405).
    MethodNotAllowed,
    /// The request body exceeds the configured cap (413).
    PayloadTooLarge,
    /// The backend rate-limited us (429).
    RateLimited,
    /// The gateway or a backend is overloaded (503; Anthropic clients see 529).
    Overloaded,
    /// A backend could not be reached or answered garbage (502).
    BadGateway,
    /// A backend took longer than its timeout (504).
    Timeout,
    /// A bug or an unexpected condition inside the gateway (500).
    Internal,
    /// A backend answered with an error; its status is kept as is.
    Upstream,
}

impl ErrorKind {
    /// A stable snake_case name, used in logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::Authentication => "authentication",
            ErrorKind::Permission => "permission",
            ErrorKind::NotFound => "not_found",
            ErrorKind::MethodNotAllowed => "method_not_allowed",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::BadGateway => "bad_gateway",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Internal => "internal",
            ErrorKind::Upstream => "upstream",
        }
    }

    /// The inverse of [`ErrorKind::as_str`]; unknown names are `Upstream`.
    pub fn from_name(name: &str) -> ErrorKind {
        match name {
            "invalid_request" => ErrorKind::InvalidRequest,
            "authentication" => ErrorKind::Authentication,
            "permission" => ErrorKind::Permission,
            "not_found" => ErrorKind::NotFound,
            "method_not_allowed" => ErrorKind::MethodNotAllowed,
            "payload_too_large" => ErrorKind::PayloadTooLarge,
            "rate_limited" => ErrorKind::RateLimited,
            "overloaded" => ErrorKind::Overloaded,
            "bad_gateway" => ErrorKind::BadGateway,
            "timeout" => ErrorKind::Timeout,
            "internal" => ErrorKind::Internal,
            _ => ErrorKind::Upstream,
        }
    }

    /// The kind that best describes an HTTP error status from a backend.
    pub fn from_status(status: u16) -> ErrorKind {
        match status {
            400 | 422 => ErrorKind::InvalidRequest,
            401 => ErrorKind::Authentication,
            403 => ErrorKind::Permission,
            404 => ErrorKind::NotFound,
            405 => ErrorKind::MethodNotAllowed,
            413 => ErrorKind::PayloadTooLarge,
            429 => ErrorKind::RateLimited,
            503 | 529 => ErrorKind::Overloaded,
            502 => ErrorKind::BadGateway,
            504 => ErrorKind::Timeout,
            _ => ErrorKind::Upstream,
        }
    }

    fn default_status(self) -> u16 {
        match self {
            ErrorKind::InvalidRequest => 400,
            ErrorKind::Authentication => 401,
            ErrorKind::Permission => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::MethodNotAllowed => 405,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::RateLimited => 429,
            ErrorKind::Overloaded => 503,
            ErrorKind::BadGateway | ErrorKind::Upstream => 502,
            ErrorKind::Timeout => 504,
            ErrorKind::Internal => 500,
        }
    }
}

/// An error to be shown to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayError {
    pub status: u16,
    pub kind: ErrorKind,
    pub message: String,
    /// Seconds, for a `Retry-After` header.
    pub retry_after: Option<u32>,
}

impl GatewayError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> GatewayError {
        GatewayError {
            status: kind.default_status(),
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> GatewayError {
        GatewayError::new(ErrorKind::InvalidRequest, message)
    }

    pub fn internal(message: impl Into<String>) -> GatewayError {
        GatewayError::new(ErrorKind::Internal, message)
    }

    pub fn with_status(mut self, status: u16) -> GatewayError {
        self.status = status;
        self
    }

    pub fn with_retry_after(mut self, secs: u32) -> GatewayError {
        self.retry_after = Some(secs);
        self
    }
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.kind.as_str(),
            self.status,
            self.message
        )
    }
}

impl std::error::Error for GatewayError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_stays_small() {
        // It travels through channels and Results on every request path.
        assert!(std::mem::size_of::<GatewayError>() <= 48);
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in [
            ErrorKind::InvalidRequest,
            ErrorKind::Authentication,
            ErrorKind::Permission,
            ErrorKind::NotFound,
            ErrorKind::MethodNotAllowed,
            ErrorKind::PayloadTooLarge,
            ErrorKind::RateLimited,
            ErrorKind::Overloaded,
            ErrorKind::BadGateway,
            ErrorKind::Timeout,
            ErrorKind::Internal,
            ErrorKind::Upstream,
        ] {
            assert_eq!(ErrorKind::from_name(kind.as_str()), kind);
        }
    }

    #[test]
    fn status_maps_to_kind() {
        assert_eq!(ErrorKind::from_status(429), ErrorKind::RateLimited);
        assert_eq!(ErrorKind::from_status(529), ErrorKind::Overloaded);
        assert_eq!(ErrorKind::from_status(500), ErrorKind::Upstream);
        assert_eq!(GatewayError::new(ErrorKind::BadGateway, "x").status, 502);
    }
}
