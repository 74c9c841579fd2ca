//! llm-gateway: a small, fast LLM routing gateway on a synchronous, threaded stack.
//!
//! The crate root is a table of contents; `DESIGN.md` tells how the parts fit.

pub mod config;
pub mod control;
pub mod dialect;
pub mod error;
pub mod ir;
pub mod observe;
pub mod proxy;
pub mod route;
pub mod server;
pub mod signals;
pub mod sse;
pub mod state;
pub mod upstream;
