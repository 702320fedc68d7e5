//! `cpbench completions SHELL` and `cpbench man --out DIR`: shell completions and man pages,
//! generated from the same clap definitions that parse the command line, so they list exactly
//! the subcommands and flags this build has.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::CommandFactory;
use cpbench_core::io::write_bytes_atomic;

use crate::{Cli, Outcome};

/// Arguments of `cpbench completions`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The shell: bash, zsh, fish, elvish or powershell. E.g. `cpbench completions bash >
    /// ~/.local/share/bash-completion/completions/cpbench`, or for zsh a file `_cpbench` in a
    /// folder of `$fpath`, for fish `~/.config/fish/completions/cpbench.fish`.
    pub shell: clap_complete::Shell,
}

/// Arguments of `cpbench man`.
#[derive(clap::Args, Debug)]
pub struct ManArgs {
    /// Folder for the pages (created if missing): cpbench.1 and one page per subcommand,
    /// e.g. cpbench-eval-map.1. Read one with `man -l DIR/cpbench-run.1`, or put the folder in
    /// `MANPATH` as DIR/man1.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Prints the completion script of `a.shell` on stdout.
pub fn run(a: Args) -> Result<Outcome> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "cpbench", &mut script);
    print!("{}", String::from_utf8_lossy(&script));
    Ok(Outcome::Ok)
}

/// Writes the man pages of cpbench and of every visible subcommand into `a.out`.
pub fn man(a: ManArgs) -> Result<Outcome> {
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let mut cmd = Cli::command();
    cmd.build();
    let mut written = 0;
    write_pages(&cmd, "cpbench", &a.out, &mut written)?;
    outln!("wrote {written} man pages to {}", a.out.display());
    Ok(Outcome::Ok)
}

/// The page of `cmd` as `name.1`, then those of its visible subcommands as `name-sub.1`.
fn write_pages(
    cmd: &clap::Command,
    name: &str,
    dir: &std::path::Path,
    n: &mut usize,
) -> Result<()> {
    let page = cmd.clone().name(name.to_string());
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut roff)
        .with_context(|| format!("rendering the man page of {name}"))?;
    let path = dir.join(format!("{name}.1"));
    write_bytes_atomic(&path, &roff)?;
    *n += 1;
    // clap's generated `help` subcommands have no page of their own: `help` is every page.
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir, n)?;
    }
    Ok(())
}
