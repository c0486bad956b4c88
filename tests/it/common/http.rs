//! Plain HTTP against the servers the tests start as child processes (`flowtrail serve`,
//! `flowtrail ui`): a free port to give them, a GET, and a wait until one answers.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Child;
use std::time::{Duration, Instant};

/// A port nothing listens on right now (the OS picks it, so parallel tests do not collide).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET `path` on `127.0.0.1:port`, waiting at most `timeout` for the answer; (status, body).
pub fn get_with(port: u16, path: &str, timeout: Duration) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let code = out.split_whitespace().nth(1)?.parse().ok()?;
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    Some((code, body))
}

/// Wait (at most 60 s) until the server `child` started on `port` answers `path` with any
/// status; panics with `log()` if the child exits first.
pub fn wait_until_answering(child: &mut Child, port: u16, path: &str, log: impl Fn() -> String) {
    let t = Instant::now();
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            panic!("the server exited early ({st}): {}", log());
        }
        if get_with(port, path, Duration::from_secs(5)).is_some() {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the server did not answer {path} on port {port} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
