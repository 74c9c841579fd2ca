//! llm-gateway: a small, fast LLM routing gateway on a synchronous, threaded stack.
//!
//! The crate root is a table of contents; `DESIGN.md` tells how the parts fit.

pub mod dialect;
pub mod error;
pub mod ir;
pub mod sse;
