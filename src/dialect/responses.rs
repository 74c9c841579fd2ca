//! Stub: being written. Same function set as every dialect (see dialect/mod.rs).

use serde_json::{json, Value};

use crate::dialect::{upstream_error, StreamDecode, StreamEncode};
use crate::error::GatewayError;
use crate::ir;
use crate::sse;

pub fn error_body(err: &GatewayError) -> Value {
    json!({"error": {"message": err.message, "type": err.kind.as_str(), "code": null}})
}

pub fn decode_error(status: u16, body: &[u8]) -> GatewayError {
    let message = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        v.pointer("/error/message")
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    upstream_error(status, message)
}

pub fn decode_request(_body: &Value) -> Result<ir::Request, GatewayError> {
    Err(GatewayError::invalid("conversion is not implemented yet"))
}

pub fn encode_request(_request: &ir::Request) -> Value {
    Value::Null
}

pub fn decode_response(_body: &Value) -> Result<ir::Response, GatewayError> {
    Err(GatewayError::invalid("conversion is not implemented yet"))
}

pub fn encode_response(_response: &ir::Response) -> Value {
    Value::Null
}

#[derive(Default)]
pub struct StreamDecoder;

impl StreamDecoder {
    pub fn new() -> StreamDecoder {
        StreamDecoder
    }
}

impl StreamDecode for StreamDecoder {
    fn decode(
        &mut self,
        _event: &sse::Event,
        _out: &mut Vec<ir::Event>,
    ) -> Result<(), GatewayError> {
        Ok(())
    }
    fn finish(&mut self, _out: &mut Vec<ir::Event>) {}
}

pub struct StreamEncoder;

impl StreamEncoder {
    pub fn new(_request: &ir::Request) -> StreamEncoder {
        StreamEncoder
    }
}

impl StreamEncode for StreamEncoder {
    fn encode(&mut self, _event: &ir::Event, _out: &mut Vec<u8>) {}
}
