//! `mobilenet-unet-verify`: runs every check against the Keras fixtures, prints the table (or
//! JSON with `--json`) and exits non-zero if any check fails.

#![forbid(unsafe_code)]

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mobilenet-unet-verify",
    version,
    about = "Check the mobilenet-unet engine against real Keras"
)]
struct Cli {
    /// Fixture folder (default: the committed crates/verify/fixtures).
    #[arg(long)]
    fixtures: Option<PathBuf>,
    /// Print JSON instead of the table.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let dir = cli
        .fixtures
        .unwrap_or_else(mobilenet_unet_verify::default_fixtures_dir);
    let report = match mobilenet_unet_verify::run_all(&dir) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
    } else {
        let tier = mobilenet_unet_kernels::Tier::active()
            .map(|t| t.name())
            .unwrap_or("unavailable");
        println!(
            "Engine tier: {tier}; tiers checked on single layers: {:?}\n",
            mobilenet_unet_kernels::Tier::available()
        );
        print!("{}", report.to_table());
    }
    if report.all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
