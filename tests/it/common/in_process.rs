//! `flowtrail serve` run in the test's own process (`flowtrail::serve::run_with`), given moto's
//! endpoint and credentials directly and stopped through its shutdown future: for the service
//! tests where neither a real signal nor a crash is the point (those start the binary,
//! `super::serve::Serve`). Several services can run side by side in one test.

use std::path::Path;
use std::process::ExitCode;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use clap::Parser;
use flowtrail::cli::{Cli, Command};
use flowtrail_testkit::moto::{ACCESS_KEY_ID, Moto, SECRET_ACCESS_KEY};

use super::http::{free_port, get_with};

/// Flags whose value is a path: a relative one is taken from the service's folder, since the
/// process's working folder is every test's.
const PATH_FLAGS: &[&str] = &["--config", "--lake", "--state", "--outbox", "--alerts-out"];

/// A service running on a thread of this process; stopped (and joined) on drop.
pub struct InProcess {
    pub port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<anyhow::Result<ExitCode>>>,
}

/// `args` with each path flag's relative value joined to `dir`.
fn absolute(dir: &Path, args: &[&str]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut path_next = false;
    for a in args {
        out.push(if path_next && Path::new(a).is_relative() {
            dir.join(a).display().to_string()
        } else {
            (*a).to_string()
        });
        path_next = PATH_FLAGS.contains(a);
    }
    out
}

impl InProcess {
    /// Start `flowtrail serve ARGS` against `moto` and wait until `/healthz` answers. Paths in a
    /// configuration file are the file's business: write them absolute.
    pub fn start(moto: &Moto, dir: &Path, args: &[&str]) -> InProcess {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut argv = vec![
            "flowtrail".to_string(),
            "serve".into(),
            "--listen".into(),
            listen,
        ];
        argv.extend(absolute(dir, args));
        let cli = Cli::try_parse_from(&argv).unwrap();
        let Command::Serve(serve_args) = cli.command else {
            panic!("not a serve command: {argv:?}");
        };
        let aws =
            flowtrail::Aws::with_credentials(&moto.endpoint, ACCESS_KEY_ID, SECRET_ACCESS_KEY)
                .unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            flowtrail::serve::run_with(*serve_args, aws, async move {
                let _ = stopped.await;
            })
        });
        let mut s = InProcess {
            port,
            stop: Some(stop),
            thread: Some(thread),
        };
        s.wait_healthy();
        s
    }

    fn wait_healthy(&mut self) {
        let t = Instant::now();
        while get_with(self.port, "/healthz", Duration::from_secs(5)).is_none() {
            if self.thread.as_ref().is_some_and(JoinHandle::is_finished) {
                let r = self.thread.take().map(|t| t.join());
                panic!("the service ended before answering: {r:?}");
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "the service did not answer /healthz on port {} within 60 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stop it as SIGTERM would (the cycle finishes, the state is saved, the outbox flushed)
    /// and return how it ended: `Ok(SUCCESS)` when it stopped cleanly.
    pub fn stop(mut self) -> anyhow::Result<ExitCode> {
        self.stop_and_join()
            .unwrap_or_else(|| Err(anyhow::anyhow!("already stopped")))
    }

    fn stop_and_join(&mut self) -> Option<anyhow::Result<ExitCode>> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let t = self.thread.take()?;
        Some(match t.join() {
            Ok(r) => r,
            Err(_) => Err(anyhow::anyhow!("the service's thread panicked")),
        })
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}
