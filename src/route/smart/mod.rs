//! Smart routing: classify each query and pick the backend whose specialties fit it.
//! (Being written: this is the interface the proxy and the control plane call.)

use serde_json::{json, Value};

use crate::config::Config;
use crate::error::GatewayError;
use crate::ir;
use crate::state::State;

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

/// The smart router's state: classifier caches, user preferences, decision history.
pub struct SmartRouter;

impl SmartRouter {
    pub fn new(_config: &Config) -> SmartRouter {
        SmartRouter
    }

    /// Decides where a request goes, or `None` to leave it to the ordinary rules. An error
    /// (e.g. a conversation too long for every backend) is answered to the client.
    pub fn decide(
        &self,
        _state: &State,
        _request: &ir::Request,
        _user: Option<&str>,
    ) -> Result<Option<Decision>, GatewayError> {
        Ok(None)
    }

    /// Sends the request to every backend of a fan-out decision and combines the answers.
    pub fn fan_out(
        &self,
        _state: &State,
        _request: &ir::Request,
        _decision: &Decision,
    ) -> Result<ir::Response, GatewayError> {
        Err(GatewayError::internal("fan-out is not available yet"))
    }

    /// `GET /debug/router`.
    pub fn debug_get(&self, state: &State) -> Value {
        json!({"enabled": state.smart_routing()})
    }

    /// `POST /debug/router` (the caller has checked the admin token).
    pub fn debug_post(&self, _state: &State, _body: &Value) -> Result<Value, GatewayError> {
        Err(GatewayError::invalid(
            "router actions are not available yet",
        ))
    }

    /// A new config is in place (reload or `/debug/config`).
    pub fn on_config(&self, _config: &Config) {}

    /// Persists what must survive a restart (called at shutdown).
    pub fn flush(&self) {}
}
