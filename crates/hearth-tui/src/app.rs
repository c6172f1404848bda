//! The event loop: terminal keys, network lines and a one-second tick, each
//! turned into a state change and lines to send; then a redraw.

use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use hearth_proto::Message;
use ratatui::layout::Rect;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::command::{command, quit, show};
use crate::net::{self, Conn, Event, Target};
use crate::settings::{self, Settings, SettingsError};
use crate::state::{self, Kind, Phase, State, apply};
use crate::view::{self, Colors};

/// `hearth chat`'s options as given on the command line.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Options {
    /// The server, HOST or HOST:PORT (default 127.0.0.1:6667; port 6697 with --tls).
    #[arg(long, short = 's', value_name = "HOST[:PORT]")]
    pub server: Option<String>,
    /// Connect with TLS, trusting the system's root certificates (or --ca-file).
    #[arg(long)]
    pub tls: bool,
    /// The account to log in as (default: $USER). The password is asked without echo.
    #[arg(long, short = 'u', value_name = "NAME")]
    pub user: Option<String>,
    /// Read the password from the first line of FILE instead of asking.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// With --tls, trust the certificate authority (or self-signed certificate) in
    /// this PEM file instead of the system's roots.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Save these options to ~/.config/hearth/chat.toml as the defaults.
    #[arg(long)]
    pub save: bool,
}

/// What can stop `hearth chat` before or outside the chat itself.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("cannot read the password file {0}: {1}")]
    PasswordFile(PathBuf, std::io::Error),
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

/// The server used when neither the options nor the settings name one.
pub const DEFAULT_SERVER: &str = "127.0.0.1:6667";

/// Runs the client until the person leaves.
pub fn run(opts: Options) -> Result<(), AppError> {
    let path = settings::default_path();
    let saved = match &path {
        Some(p) => Settings::load(p)?,
        None => Settings::default(),
    };
    let merged = Settings {
        server: opts.server.or(saved.server),
        tls: opts.tls || saved.tls,
        user: opts.user.or(saved.user),
        password_file: opts.password_file.or(saved.password_file),
        ca_file: opts.ca_file.or(saved.ca_file),
    };
    if opts.save
        && let Some(p) = &path
    {
        merged.save(p)?;
        eprintln!("hearth chat: settings saved to {}", p.display());
    }
    let user = merged.user.clone().or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "guest".into());
    let password = password(&merged, &user)?;
    let server = merged.server.clone().unwrap_or_else(|| DEFAULT_SERVER.to_string());
    let target = Target::parse(&server, merged.tls, merged.ca_file.clone());
    // Trap 1 of STACK.md: one crypto provider, ring, for the whole process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let colors = Colors::detect(
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        &std::env::var("COLORTERM").unwrap_or_default(),
        &std::env::var("TERM").unwrap_or_default(),
    );
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut terminal = ratatui::init();
    let result = rt.block_on(event_loop(&mut terminal, State::new(&target.display(), &user, password), target, colors));
    ratatui::restore();
    result
}

/// The password from `--password-file` (first line), else asked without echo
/// when a user was named and there is a terminal; empty means none.
fn password(s: &Settings, user: &str) -> Result<Option<String>, AppError> {
    use std::io::IsTerminal;
    if let Some(file) = &s.password_file {
        let text = std::fs::read_to_string(file).map_err(|e| AppError::PasswordFile(file.clone(), e))?;
        let first = text.lines().next().unwrap_or("").to_string();
        return Ok((!first.is_empty()).then_some(first));
    }
    if s.user.is_none() || !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    let typed = rpassword::prompt_password(format!("Password for {user} (Enter for none): "))?;
    Ok((!typed.is_empty()).then_some(typed))
}

/// What woke the event loop.
enum Wake {
    Connect,
    Net(Event),
    Term(std::io::Result<TermEvent>),
    Tick,
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    mut st: State,
    target: Target,
    colors: Colors,
) -> Result<(), AppError> {
    let (etx, mut erx) = mpsc::unbounded_channel();
    let mut conn: Option<Conn> = None;
    let mut attempt = 0u32;
    let mut next_try = Some(Instant::now());
    let mut keys = terminal_events();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut ticks = 0u64;
    st.now = crate::time::now();
    loop {
        let retry_at = next_try.unwrap_or_else(Instant::now);
        let wake = tokio::select! {
            _ = tokio::time::sleep_until(retry_at), if next_try.is_some() && conn.is_none() => Wake::Connect,
            Some(ev) = erx.recv() => Wake::Net(ev),
            Some(ev) = keys.recv() => Wake::Term(ev),
            _ = tick.tick() => Wake::Tick,
        };
        // Handle everything already waiting (a paste, a history batch) before one redraw.
        let mut pending = Some(wake);
        let mut handled = 0;
        while let Some(wake) = pending.take() {
            st.now = crate::time::now();
            let out = match wake {
                Wake::Connect => {
                    next_try = None;
                    st.phase = Phase::Connecting;
                    terminal.draw(|f| view::draw(f, &st, colors))?;
                    match tokio::time::timeout(Duration::from_secs(15), net::connect(&target, etx.clone())).await {
                        Ok(Ok(c)) => {
                            attempt = 0;
                            conn = Some(c);
                            st.on_connected()
                        }
                        Ok(Err(e)) => {
                            next_try = Some(retry(&mut st, &mut attempt, &e.to_string()));
                            Vec::new()
                        }
                        Err(_) => {
                            next_try = Some(retry(&mut st, &mut attempt, "timed out"));
                            Vec::new()
                        }
                    }
                }
                Wake::Net(Event::Line(m)) => apply(&mut st, &m),
                Wake::Net(Event::Closed(reason)) => {
                    conn = None;
                    if st.quitting {
                        return Ok(());
                    }
                    let at = retry(&mut st, &mut attempt, &reason);
                    next_try = (!st.login_failed).then_some(at);
                    Vec::new()
                }
                Wake::Term(ev) => match ev? {
                    TermEvent::Key(k) if k.kind != KeyEventKind::Release => {
                        let size = terminal.size()?;
                        key(&mut st, k, Rect::new(0, 0, size.width, size.height))
                    }
                    _ => Vec::new(), // resizes just redraw
                },
                Wake::Tick => {
                    ticks += 1;
                    if let (Phase::Disconnected { retry_in, .. }, Some(at)) = (&mut st.phase, next_try) {
                        *retry_in = at.saturating_duration_since(Instant::now()).as_secs();
                    }
                    // Nobody announces arrivals: look again every minute.
                    if ticks.is_multiple_of(60) { state::refresh_online(&mut st) } else { Vec::new() }
                }
            };
            if let Some(c) = &conn {
                out.into_iter().for_each(|m| c.send(m));
            }
            if st.quitting {
                if let Some(c) = conn.take() {
                    c.close(Duration::from_secs(2)).await;
                }
                return Ok(());
            }
            handled += 1;
            if handled < 1000 {
                pending = match erx.try_recv() {
                    Ok(ev) => Some(Wake::Net(ev)),
                    Err(_) => keys.try_recv().ok().map(Wake::Term),
                };
            }
        }
        if std::mem::take(&mut st.bell) {
            use std::io::Write;
            let mut stdout = std::io::stdout();
            let _ = stdout.write_all(b"\x07").and_then(|()| stdout.flush());
        }
        terminal.draw(|f| view::draw(f, &st, colors))?;
    }
}

/// Terminal events from a thread of their own that blocks in `crossterm::event::read`.
/// (crossterm's async `EventStream` stalled here under a fast paste: its waker thread
/// holds the reader lock while the runtime's only thread waits for it.)
fn terminal_events() -> mpsc::UnboundedReceiver<std::io::Result<TermEvent>> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        loop {
            let ev = crossterm::event::read();
            let failed = ev.is_err();
            if tx.send(ev).is_err() || failed {
                return;
            }
        }
    });
    rx
}

fn retry(st: &mut State, attempt: &mut u32, reason: &str) -> Instant {
    let wait = net::backoff(*attempt);
    *attempt += 1;
    st.on_disconnected(reason, wait.as_secs());
    Instant::now() + wait
}

/// One key press on a screen of `size`; returns the lines to send.
pub fn key(st: &mut State, k: KeyEvent, size: Rect) -> Vec<Message> {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    let alt = k.modifiers.contains(KeyModifiers::ALT);
    let a = view::areas(st, size);
    let page = usize::from(a.chat.height.saturating_sub(3)).max(1);
    match k.code {
        KeyCode::Char('c') if ctrl => return quit(st, ""),
        KeyCode::Char('d') if ctrl && st.input.text.is_empty() => return quit(st, ""),
        KeyCode::Char('n') if ctrl => return show(st, (st.current + 1) % st.convs.len()),
        KeyCode::Char('p') if ctrl => return show(st, (st.current + st.convs.len() - 1) % st.convs.len()),
        KeyCode::Char(c @ '1'..='9') if alt => return show(st, c as usize - '1' as usize),
        KeyCode::Char('u') if ctrl => st.input.clear(),
        KeyCode::Char('w') if ctrl => st.input.delete_word(),
        KeyCode::Char('a') if ctrl => st.input.home(),
        KeyCode::Char('e') if ctrl => st.input.end(),
        KeyCode::Char('a' | 'A') if st.input.text.is_empty() && !st.requests.is_empty() => {
            return state::accept_request(st);
        }
        KeyCode::Char('d' | 'D') if st.input.text.is_empty() && !st.requests.is_empty() => {
            return state::decline_request(st);
        }
        KeyCode::Char(c) if !ctrl => st.input.insert(c),
        KeyCode::Enter => {
            let line = st.input.take();
            return command(st, &line);
        }
        KeyCode::Backspace => st.input.backspace(),
        KeyCode::Delete => st.input.delete(),
        KeyCode::Left => st.input.left(),
        KeyCode::Right => st.input.right(),
        KeyCode::Home => st.input.home(),
        KeyCode::End => st.input.end(),
        KeyCode::Up => st.input.history_up(),
        KeyCode::Down => st.input.history_down(),
        KeyCode::Tab => {
            let nicks = st.completion_nicks();
            st.input.complete(&nicks);
        }
        KeyCode::PageUp => {
            let at = st.current;
            let rows = view::row_count(&st.convs[at], a.chat.width);
            let max = rows.saturating_sub(usize::from(a.chat.height.saturating_sub(2)));
            st.convs[at].scroll = (st.convs[at].scroll + page).min(max);
            if st.convs[at].scroll >= max {
                return state::fetch_older(st, at);
            }
        }
        KeyCode::PageDown | KeyCode::Esc => {
            let at = st.current;
            let conv = &mut st.convs[at];
            conv.scroll = if k.code == KeyCode::Esc { 0 } else { conv.scroll.saturating_sub(page) };
            if conv.scroll == 0 && conv.kind != Kind::Home {
                return st.select(at);
            }
        }
        _ => {}
    }
    Vec::new()
}
