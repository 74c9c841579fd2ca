//! A reference proxy: the least a blocking, thread-per-connection proxy can do — read a request
//! head and its `Content-Length` body, write them to a kept-alive upstream connection, read the
//! answer the same way, write it back. No parsing beyond framing, no routing, no books.
//!
//! It runs in front of the same mock in the same run, so the report can tell what the
//! architecture costs on this machine (two more socket hops per request, on the same cores)
//! from what the gateway itself adds.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

/// Starts the proxy in front of `upstream_port`; returns its port.
pub fn start(upstream_port: u16) -> io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    thread::Builder::new()
        .name("reference-proxy".into())
        .spawn(move || {
            for client in listener.incoming().flatten() {
                let _ = thread::Builder::new()
                    .name("reference-conn".into())
                    .spawn(move || {
                        let _ = relay(client, upstream_port);
                    });
            }
        })?;
    Ok(port)
}

/// Serves one client connection until either side closes it.
fn relay(client: TcpStream, upstream_port: u16) -> io::Result<()> {
    let upstream = TcpStream::connect(("127.0.0.1", upstream_port))?;
    client.set_nodelay(true)?;
    upstream.set_nodelay(true)?;
    let mut from_client = BufReader::new(client.try_clone()?);
    let mut from_upstream = BufReader::new(upstream.try_clone()?);
    let (mut to_client, mut to_upstream) = (client, upstream);
    let mut message = Vec::with_capacity(4096);
    while read_message(&mut from_client, &mut message)? {
        to_upstream.write_all(&message)?;
        if !read_message(&mut from_upstream, &mut message)? {
            break;
        }
        to_client.write_all(&message)?;
    }
    Ok(())
}

/// Reads one HTTP/1.1 message (head and `Content-Length` body) into `out`; false at a clean
/// end of stream.
fn read_message(reader: &mut BufReader<TcpStream>, out: &mut Vec<u8>) -> io::Result<bool> {
    out.clear();
    let mut length = 0usize;
    loop {
        let start = out.len();
        if reader.read_until(b'\n', out)? == 0 {
            return Ok(false);
        }
        let line = &out[start..];
        if line == b"\r\n" {
            break;
        }
        if let Some((name, value)) = std::str::from_utf8(line)
            .ok()
            .and_then(|l| l.split_once(':'))
        {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let start = out.len();
    out.resize(start + length, 0);
    reader.read_exact(&mut out[start..])?;
    Ok(true)
}
