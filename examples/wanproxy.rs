//! The emulated wide-area path of the tests (`tests/it/support/wan.rs`) as a process, for
//! `scripts/compare`: `wanproxy UPSTREAM RTT_MS MB_PER_S` prints `127.0.0.1:PORT`, then
//! forwards; each line on stdin prints `round_trips requests connections bytes_up
//! bytes_down` counted since the last one (and starts counting afresh); stdin's end exits.

// The tests' files, whole: what only the tests use is not dead code there.
#[allow(dead_code)]
#[path = "../tests/it/support/server.rs"]
mod server;
#[allow(dead_code)]
#[path = "../tests/it/support/wan.rs"]
mod wan;

use std::io::{BufRead, Write};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [upstream, rtt, rate] = args.as_slice() else {
        eprintln!("usage: wanproxy UPSTREAM(host:port) RTT_MS MB_PER_S(0: no cap)");
        std::process::exit(2);
    };
    let (Ok(rtt), Ok(rate)) = (rtt.parse::<u64>(), rate.parse::<f64>()) else {
        eprintln!("wanproxy: RTT_MS is a whole number of milliseconds, MB_PER_S a number");
        std::process::exit(2);
    };
    let w = wan::Wan::start(upstream, wan::WanOptions::new(rtt, rate));
    println!("{}", w.host);
    let _ = std::io::stdout().flush();
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
        let (up, down) = w.bytes();
        println!(
            "{} {} {} {up} {down}",
            w.round_trips(),
            w.requests(),
            w.connections()
        );
        let _ = std::io::stdout().flush();
        w.reset_counts();
    }
}
