//! `hearth user add|list|del|passwd|admin`: accounts.
//!
//! Passwords come from the terminal (asked twice, never echoed) or, for
//! scripts, one line of standard input with `--password-stdin`. They are
//! hashed with argon2id using the config's `[accounts] argon2_*` cost on a
//! blocking thread; only the hash reaches the store. No password is ever
//! printed, logged or put in an error message.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use hearth_store::Account;
use hearth_store::password::{Argon2Params, hash_password};

use super::{Ctx, time};
use hearth::control::{Request, Response};

/// The longest account name (the nick rules apply).
pub const MAX_NAME_LEN: usize = 30;
/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. Asks for the password twice on the terminal.
    ///
    /// NAME follows the nickname rules (letters, digits, `-`, `[]\`_^{|}`; not
    /// starting with a digit or `-`; at most 30 characters) and is matched
    /// without regard to case. The password needs at least 8 characters.
    Add {
        /// The account name, e.g. alice.
        name: String,
        /// Make the account a server administrator.
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        password: PasswordInput,
    },
    /// List every account: name, administrator or not, creation time (UTC).
    #[command(visible_alias = "ls")]
    List,
    /// Delete an account. Its messages stay in the history.
    #[command(visible_alias = "rm")]
    Del {
        /// The account name (any case).
        name: String,
    },
    /// Set a new password for an account. Asks twice on the terminal.
    Passwd {
        /// The account name (any case).
        name: String,
        #[command(flatten)]
        password: PasswordInput,
    },
    /// Make an account a server administrator (`on`) or not (`off`).
    Admin {
        /// The account name (any case).
        name: String,
        /// `on` grants administrator rights, `off` takes them away.
        #[arg(value_enum)]
        state: OnOff,
    },
    /// Client certificates that log in to an account (SASL EXTERNAL over TLS).
    #[command(subcommand)]
    Cert(CertCommand),
    /// List the login tokens of NAME ("stay signed in" devices: id, device, created,
    /// last used), or revoke one with --revoke ID (all of them with --revoke all).
    Tokens {
        /// The account name (any case).
        name: String,
        /// A token id as listed, or `all`.
        #[arg(long, value_name = "ID|all")]
        revoke: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Let a client certificate log in to NAME, by its SHA-256 fingerprint
    /// (64 hex digits, colons allowed) or from its PEM file with --file.
    Add {
        /// The account name (any case).
        name: String,
        /// The certificate's SHA-256 fingerprint, e.g. from
        /// `openssl x509 -in cert.pem -noout -fingerprint -sha256`.
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        fingerprint: Option<String>,
        /// Read the certificate (PEM) and take its fingerprint.
        #[arg(long, value_name = "CERT.PEM")]
        file: Option<std::path::PathBuf>,
    },
    /// List the certificate fingerprints of NAME.
    #[command(visible_alias = "ls")]
    List { name: String },
    /// Stop a certificate from logging in to NAME.
    #[command(visible_alias = "rm")]
    Del {
        name: String,
        /// The fingerprint, as `list` shows it (or with colons).
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        fingerprint: Option<String>,
        /// Read the certificate (PEM) and take its fingerprint.
        #[arg(long, value_name = "CERT.PEM")]
        file: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct PasswordInput {
    /// Read the password from the first line of standard input instead of
    /// asking on the terminal (for scripts: `printf '%s\n' "$PW" | hearth user add alice --password-stdin`).
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

/// Runs one `hearth user` command.
pub async fn run(ctx: &Ctx, cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add { name, admin, password } => add(ctx, &name, admin, &password).await,
        UserCommand::List => list(ctx).await,
        UserCommand::Del { name } => del(ctx, &name).await,
        UserCommand::Passwd { name, password } => passwd(ctx, &name, &password).await,
        UserCommand::Admin { name, state } => set_admin(ctx, &name, state == OnOff::On).await,
        UserCommand::Cert(cmd) => cert(ctx, cmd).await,
        UserCommand::Tokens { name, revoke } => tokens(ctx, &name, revoke).await,
    }
}

async fn tokens(ctx: &Ctx, name: &str, revoke: Option<String>) -> anyhow::Result<()> {
    let store = ctx.open_store().await?;
    let Some(account) = store.account(name).await? else { bail!(not_found(ctx, name)) };
    if let Some(which) = revoke {
        let id = (which != "all").then_some(which);
        return finish(ctx, ctx.request(Request::TokenRevoke { name: account.name, id }).await?);
    }
    let list = store.login_tokens(&account.name).await?;
    if list.is_empty() {
        eprintln!("{} has no login tokens", account.name);
    }
    for t in list {
        let used = t.last_used_at.map_or_else(|| "never".to_string(), time::human);
        println!("{}  {}  created {}  last used {used}", t.id, t.device, time::human(t.created_at));
    }
    Ok(())
}

async fn cert(ctx: &Ctx, cmd: CertCommand) -> anyhow::Result<()> {
    let name = match &cmd {
        CertCommand::Add { name, .. } | CertCommand::List { name } | CertCommand::Del { name, .. } => name.clone(),
    };
    let store = ctx.open_store().await?;
    let Some(account) = store.account(&name).await? else { bail!(not_found(ctx, &name)) };
    match cmd {
        CertCommand::List { .. } => {
            let certs = store.certs(&account.name).await?;
            if certs.is_empty() {
                eprintln!(
                    "{} has no certificates; add one with {}",
                    account.name,
                    ctx.hint("user cert add NAME FINGERPRINT")
                );
            }
            for fp in certs {
                println!("{fp}");
            }
            Ok(())
        }
        CertCommand::Add { fingerprint, file, .. } => {
            let fingerprint = fingerprint_of(fingerprint, file)?;
            finish(ctx, ctx.request(Request::CertAdd { name: account.name, fingerprint }).await?)
        }
        CertCommand::Del { fingerprint, file, .. } => {
            let fingerprint = fingerprint_of(fingerprint, file)?;
            finish(ctx, ctx.request(Request::CertDel { name: account.name, fingerprint }).await?)
        }
    }
}

/// The fingerprint given, normalised, or the one of the certificate in `file`.
fn fingerprint_of(given: Option<String>, file: Option<std::path::PathBuf>) -> anyhow::Result<String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    if let Some(path) = file {
        let der = CertificateDer::from_pem_file(&path)
            .with_context(|| format!("{}: not a PEM certificate file", path.display()))?;
        return Ok(hearth_net::tls::fingerprint(&der));
    }
    let text = given.unwrap_or_default();
    hearth_net::tls::normalize_fingerprint(&text).with_context(|| {
        format!(
            "`{text}` is not a SHA-256 fingerprint (64 hex digits, colons allowed); or give the certificate with --file"
        )
    })
}

async fn add(ctx: &Ctx, name: &str, admin: bool, input: &PasswordInput) -> anyhow::Result<()> {
    if !hearth_proto::is_valid_nick(name, MAX_NAME_LEN) {
        bail!(
            "`{name}` cannot be an account name: use letters, digits, `-` and `[]\\`_^{{|}}`, start with a letter \
             or one of `[]\\`_^{{|}}`, at most {MAX_NAME_LEN} characters"
        );
    }
    let store = ctx.open_store().await?;
    // Check before asking for a password, so nobody types one for nothing.
    if let Some(existing) = store.account(name).await? {
        bail!(taken(ctx, &existing.name));
    }
    let password = read_new_password(input)?;
    let hash = hash(ctx, password).await?;
    let r = ctx.request(Request::UserAdd { name: name.to_string(), hash, admin }).await?;
    if !r.ok && r.message.contains("already exists") {
        bail!(taken(ctx, name));
    }
    finish(ctx, r)
}

fn taken(ctx: &Ctx, name: &str) -> String {
    format!(
        "an account named {name} already exists (names ignore case); choose another name, or change its password \
         with {}",
        ctx.hint(&format!("user passwd {name}"))
    )
}

async fn list(ctx: &Ctx) -> anyhow::Result<()> {
    let store = ctx.open_store().await?;
    let accounts = store.accounts().await?;
    if accounts.is_empty() {
        eprintln!("no accounts yet ({}); add one with {}", ctx.describe_store(), ctx.hint("user add NAME"));
        return Ok(());
    }
    print!("{}", table(&accounts));
    Ok(())
}

/// The `user list` table, aligned in columns.
fn table(accounts: &[Account]) -> String {
    let width = accounts.iter().map(|a| a.name.chars().count()).max().unwrap_or(0).max("NAME".len());
    let mut out = format!("{:<width$}  ADMIN  CREATED (UTC)\n", "NAME");
    for a in accounts {
        let admin = if a.admin { "yes" } else { "no" };
        out.push_str(&format!("{:<width$}  {admin:<5}  {}\n", a.name, time::human(a.created_at)));
    }
    out
}

async fn del(ctx: &Ctx, name: &str) -> anyhow::Result<()> {
    let store = ctx.open_store().await?;
    // The stored spelling, for the message.
    let Some(account) = store.account(name).await? else { bail!(not_found(ctx, name)) };
    finish(ctx, ctx.request(Request::UserDel { name: account.name }).await?)
}

async fn passwd(ctx: &Ctx, name: &str, input: &PasswordInput) -> anyhow::Result<()> {
    let store = ctx.open_store().await?;
    let Some(account) = store.account(name).await? else { bail!(not_found(ctx, name)) };
    let password = read_new_password(input)?;
    let hash = hash(ctx, password).await?;
    finish(ctx, ctx.request(Request::UserPasswd { name: account.name, hash }).await?)
}

async fn set_admin(ctx: &Ctx, name: &str, admin: bool) -> anyhow::Result<()> {
    let store = ctx.open_store().await?;
    let Some(account) = store.account(name).await? else { bail!(not_found(ctx, name)) };
    if account.admin == admin {
        let what = if admin { "is an administrator" } else { "is not an administrator" };
        println!("{} already {what}", account.name);
        return Ok(());
    }
    finish(ctx, ctx.request(Request::UserAdmin { name: account.name, admin }).await?)
}

/// Prints a change's outcome, or fails with it.
fn finish(ctx: &Ctx, r: Response) -> anyhow::Result<()> {
    if !r.ok {
        if r.message.starts_with("no account named") {
            bail!("{}; see {}", r.message, ctx.hint("user list"));
        }
        bail!("{}", r.message);
    }
    println!("{}", r.message);
    Ok(())
}

fn not_found(ctx: &Ctx, name: &str) -> String {
    format!("no account named {name}; see {}", ctx.hint("user list"))
}

/// Hashes on a blocking thread with the configured argon2id cost.
async fn hash(ctx: &Ctx, password: String) -> anyhow::Result<String> {
    let a = &ctx.cfg.accounts;
    let params = Argon2Params::new(a.argon2_memory_kib, a.argon2_iterations, a.argon2_parallelism).context(
        "the config's [accounts] argon2_memory_kib / argon2_iterations / argon2_parallelism are refused by argon2; \
         fix them in the config file",
    )?;
    tokio::task::spawn_blocking(move || hash_password(&password, &params)).await.context("password hashing failed")
}

/// The new password: one line of stdin, or asked twice on the terminal.
fn read_new_password(input: &PasswordInput) -> anyhow::Result<String> {
    let password = if input.password_stdin {
        let mut line = String::new();
        let n = std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
        if n == 0 {
            bail!(
                "--password-stdin: standard input is empty; pipe the password in, e.g. \
                 `printf '%s\\n' \"$PASSWORD\" | hearth user add NAME --password-stdin`"
            );
        }
        let trimmed = line.strip_suffix('\n').unwrap_or(&line);
        trimmed.strip_suffix('\r').unwrap_or(trimmed).to_string()
    } else {
        if !std::io::stdin().is_terminal() {
            bail!(
                "standard input is not a terminal, so the password cannot be asked for; \
                 pass --password-stdin and give the password as one line on standard input"
            );
        }
        let first = rpassword::prompt_password("New password: ").context("cannot read the password")?;
        check_password(&first)?;
        let second = rpassword::prompt_password("Repeat the password: ").context("cannot read the password")?;
        if first != second {
            bail!("the two passwords differ; nothing was changed, run the command again");
        }
        first
    };
    check_password(&password)?;
    Ok(password)
}

/// Refuses empty and short passwords (without ever echoing them).
fn check_password(password: &str) -> anyhow::Result<()> {
    if password.is_empty() {
        bail!("the password is empty; choose one of at least {MIN_PASSWORD_CHARS} characters");
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        bail!("the password is too short; choose one of at least {MIN_PASSWORD_CHARS} characters");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_store::Timestamp;

    #[test]
    fn password_rules() {
        assert!(check_password("").unwrap_err().to_string().contains("empty"));
        let short = check_password("seven77").unwrap_err().to_string();
        assert!(short.contains("at least 8") && !short.contains("seven77"), "{short}");
        assert!(check_password("eight888").is_ok());
        assert!(check_password("ünïcödé!").is_ok(), "counted in characters, not bytes");
    }

    #[test]
    fn table_aligns_columns() {
        let acc = |name: &str, admin| Account {
            name: name.into(),
            password_hash: "x".into(),
            admin,
            created_at: Timestamp::from_millis(1_795_239_716_000),
        };
        let t = table(&[acc("alice", true), acc("bartholomew", false)]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "NAME         ADMIN  CREATED (UTC)");
        assert_eq!(lines[1], "alice        yes    2026-11-21 05:41:56");
        assert_eq!(lines[2], "bartholomew  no     2026-11-21 05:41:56");
    }
}
