//! The `emkern` command-line tool.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("levels") => {
            print!("{}", emkern_host::describe_levels());
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: emkern levels");
            ExitCode::from(2)
        }
    }
}
