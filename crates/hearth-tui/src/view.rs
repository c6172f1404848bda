//! Drawing the [`State`] with ratatui: pure functions of the state and the area.
//!
//! ```text
//! ┌ title: who, where, connection ─────────────────────────────┐
//! │ Rooms        │ topic or "Private chat with bob"             │
//! │  #general 2  │ ──────────── 2026-11-29 ────────────         │
//! │ Chats        │ 19:42 bob: hello                             │
//! │  bob         │ waiting for bob to accept…                   │
//! │ Online       │                                              │
//! │  1 bob       │                                              │
//! │ bob wants to chat with you — [a]ccept / [d]ecline            │
//! └ [#general] > input ────────────────────────────────────────┘
//! ```
//! Below 60 columns the sidebar is hidden (`/list` prints the numbered list).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line as TextLine, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use unicode_width::UnicodeWidthChar;

use crate::state::{Conversation, Kind, LineKind, Phase, State};
use crate::time;

/// Width of the sidebar; it is shown from [`SIDEBAR_MIN_WIDTH`] columns on.
pub const SIDEBAR_WIDTH: u16 = 22;
pub const SIDEBAR_MIN_WIDTH: u16 = 60;

/// How many colours the terminal has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colors {
    /// `NO_COLOR`: bold and reverse only.
    Mono,
    /// The 16 ANSI colours every terminal has.
    Basic,
    /// 256 colours (`TERM=*-256color` or `COLORTERM`).
    Rich,
}

impl Colors {
    /// From the environment: `NO_COLOR`, `COLORTERM`, `TERM`.
    pub fn detect(no_color: bool, colorterm: &str, term: &str) -> Colors {
        if no_color {
            Colors::Mono
        } else if !colorterm.is_empty() || term.contains("256color") {
            Colors::Rich
        } else {
            Colors::Basic
        }
    }

    fn fg(self, basic: Color, rich: u8) -> Style {
        match self {
            Colors::Mono => Style::new(),
            Colors::Basic => Style::new().fg(basic),
            Colors::Rich => Style::new().fg(Color::Indexed(rich)),
        }
    }

    fn nick(self, nick: &str) -> Style {
        const BASIC: [Color; 6] = [Color::Cyan, Color::Green, Color::Yellow, Color::Magenta, Color::Blue, Color::Red];
        const RICH: [u8; 10] = [39, 41, 178, 170, 75, 203, 43, 141, 215, 112];
        let h = nick.bytes().fold(5381u32, |h, b| h.wrapping_mul(33) ^ u32::from(b.to_ascii_lowercase()));
        match self {
            Colors::Mono => Style::new().add_modifier(Modifier::BOLD),
            Colors::Basic => Style::new().fg(BASIC[h as usize % BASIC.len()]),
            Colors::Rich => Style::new().fg(Color::Indexed(RICH[h as usize % RICH.len()])),
        }
    }

    fn dim(self) -> Style {
        match self {
            Colors::Mono => Style::new(),
            Colors::Basic => Style::new().fg(Color::DarkGray),
            Colors::Rich => Style::new().fg(Color::Indexed(244)),
        }
    }

    fn bar(self) -> Style {
        match self {
            Colors::Mono => Style::new().add_modifier(Modifier::REVERSED),
            Colors::Basic => Style::new().fg(Color::Black).bg(Color::Cyan),
            Colors::Rich => Style::new().fg(Color::Indexed(255)).bg(Color::Indexed(24)),
        }
    }

    fn alert(self) -> Style {
        match self {
            Colors::Mono => Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            Colors::Basic => Style::new().fg(Color::Black).bg(Color::Yellow),
            Colors::Rich => Style::new().fg(Color::Indexed(16)).bg(Color::Indexed(220)),
        }
    }
}

/// The areas of the screen, shared with the app (it needs the chat's size to scroll).
pub struct Areas {
    pub title: Rect,
    pub sidebar: Option<Rect>,
    pub chat: Rect,
    pub prompt: Option<Rect>,
    pub input: Rect,
}

pub fn areas(st: &State, area: Rect) -> Areas {
    let prompt_rows = u16::from(!st.requests.is_empty());
    let [title, body, prompt, input] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(prompt_rows),
        Constraint::Length(1),
    ])
    .areas(area);
    let (sidebar, chat) = if area.width >= SIDEBAR_MIN_WIDTH {
        let [s, c] = Layout::horizontal([Constraint::Length(SIDEBAR_WIDTH), Constraint::Min(1)]).areas(body);
        (Some(s), c)
    } else {
        (None, body)
    };
    Areas { title, sidebar, chat, prompt: (prompt_rows > 0).then_some(prompt), input }
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, st: &State, colors: Colors) {
    let a = areas(st, frame.area());
    frame.render_widget(Paragraph::new(title(st)).style(colors.bar()), a.title);
    if let Some(side) = a.sidebar {
        let block = Block::new().borders(Borders::RIGHT).border_style(colors.dim());
        frame.render_widget(Paragraph::new(sidebar(st, colors)).block(block), side);
    }
    draw_chat(frame, st, colors, a.chat);
    if let (Some(area), Some(r)) = (a.prompt, st.requests.first()) {
        let more = if st.requests.len() > 1 { format!(" (+{} more)", st.requests.len() - 1) } else { String::new() };
        let text = format!(" {} wants to chat with you — [a]ccept / [d]ecline{more}", r.nick);
        frame.render_widget(Paragraph::new(text).style(colors.alert()), area);
    }
    draw_input(frame, st, colors, a.input);
}

fn title(st: &State) -> String {
    let status = match &st.phase {
        Phase::Connecting => format!("connecting to {}…", st.server),
        Phase::Registering => format!("logging in to {}…", st.server),
        Phase::Online => format!("{} @ {}", st.nick, st.server),
        Phase::Disconnected { .. } if st.login_failed => "login failed — not reconnecting".to_string(),
        Phase::Disconnected { retry_in, .. } => format!("disconnected — retrying in {retry_in} s"),
    };
    format!(" Hearth · {status}")
}

fn sidebar(st: &State, colors: Colors) -> Vec<TextLine<'static>> {
    let mut rows = Vec::new();
    let width = usize::from(SIDEBAR_WIDTH) - 2;
    let header = |t: &str| TextLine::from(Span::styled(t.to_string(), Style::new().add_modifier(Modifier::BOLD)));
    for (kind, label) in [(Kind::Home, None), (Kind::Room, Some("Rooms")), (Kind::Private, Some("Chats"))] {
        let convs: Vec<(usize, &Conversation)> = st.convs.iter().enumerate().filter(|(_, c)| c.kind == kind).collect();
        if let Some(label) = label
            && !convs.is_empty()
        {
            rows.push(header(label));
        }
        for (i, c) in convs {
            let mut style = if c.left { colors.dim() } else { Style::new() };
            if i == st.current {
                style = style.add_modifier(Modifier::REVERSED);
            } else if c.mentioned {
                style = style.patch(colors.fg(Color::Yellow, 220)).add_modifier(Modifier::BOLD);
            } else if c.unread > 0 {
                style = style.add_modifier(Modifier::BOLD);
            }
            let count = if c.unread > 0 { format!(" {}", c.unread) } else { String::new() };
            let name = clip(&c.name, width.saturating_sub(1 + count.len()));
            rows.push(TextLine::from(vec![Span::styled(format!(" {name}"), style), Span::styled(count, colors.dim())]));
        }
    }
    rows.push(header(&format!("Online ({})", st.online.len())));
    for (i, nick) in st.online.iter().enumerate() {
        rows.push(TextLine::from(vec![
            Span::styled(format!("{:>3} ", i + 1), colors.dim()),
            Span::styled(clip(nick, width - 4), colors.nick(nick)),
        ]));
    }
    rows
}

fn draw_chat(frame: &mut Frame, st: &State, colors: Colors, area: Rect) {
    let conv = st.current();
    let heading = match conv.kind {
        Kind::Home => "Home: type a person's number to chat, /help for help.".to_string(),
        Kind::Room if conv.topic.is_empty() => format!("{} ({} here)", conv.name, conv.members.len()),
        Kind::Room => format!("{}: {}", conv.name, conv.topic),
        Kind::Private => format!("Private chat with {}", conv.name),
    };
    let banner = if conv.waiting {
        Some(format!("waiting for {} to accept…", conv.name))
    } else if conv.left && conv.kind == Kind::Private {
        Some(format!("{} is offline", conv.name))
    } else {
        None
    };
    let [head, body, foot] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(u16::from(banner.is_some()))])
            .areas(area);
    let head_text = format!(" {}", clip(&heading, usize::from(area.width).saturating_sub(1)));
    frame.render_widget(Paragraph::new(head_text).style(colors.dim().add_modifier(Modifier::BOLD)), head);
    // One column of margin after the sidebar's border.
    let body = Rect { x: body.x + 1, width: body.width.saturating_sub(1), ..body };
    let rows = rows(conv, usize::from(body.width), colors);
    let height = usize::from(body.height);
    let scroll = conv.scroll.min(rows.len().saturating_sub(height));
    let end = rows.len() - scroll;
    let start = end.saturating_sub(height);
    let mut shown: Vec<TextLine> = rows[start..end].to_vec();
    if scroll > 0 && !shown.is_empty() {
        let last = shown.len() - 1;
        shown[last] = TextLine::from(Span::styled(format!(" ↓ {scroll} more rows (PgDn)"), colors.alert()));
    }
    frame.render_widget(Paragraph::new(shown), body);
    if let Some(b) = banner {
        frame.render_widget(Paragraph::new(format!(" {b}")).style(colors.alert()), foot);
    }
}

/// How many rows conversation `conv` takes at `width` (for scrolling).
pub fn row_count(conv: &Conversation, width: u16) -> usize {
    rows(conv, usize::from(width.saturating_sub(1)), Colors::Mono).len()
}

/// The scrollback as screen rows: date separators, then each line wrapped.
fn rows(conv: &Conversation, width: usize, colors: Colors) -> Vec<TextLine<'static>> {
    let mut out = Vec::new();
    let mut day = "";
    for l in &conv.lines {
        let d = time::day(&l.time);
        if !d.is_empty() && d != day && l.kind != LineKind::Info {
            day = d;
            let label = format!(" {d} ");
            let side = width.saturating_sub(label.len()) / 2;
            let sep = format!("{}{label}{}", "─".repeat(side), "─".repeat(width.saturating_sub(side + label.len())));
            out.push(TextLine::from(Span::styled(sep, colors.dim())));
        }
        let stamp = format!("{} ", time::hhmm(&l.time));
        let (who, who_style, text_style) = match l.kind {
            LineKind::Message => (format!("{}: ", l.from), colors.nick(&l.from), Style::new()),
            LineKind::Action => {
                (format!("* {} ", l.from), colors.nick(&l.from), Style::new().add_modifier(Modifier::ITALIC))
            }
            LineKind::Notice if l.from.is_empty() => {
                (String::from("-!- "), colors.dim(), colors.fg(Color::Yellow, 179))
            }
            LineKind::Notice => (format!("-{}- ", l.from), colors.nick(&l.from), colors.fg(Color::Yellow, 179)),
            LineKind::Event => (String::from("-- "), colors.dim(), colors.dim()),
            LineKind::Info => (String::new(), Style::new(), colors.fg(Color::Cyan, 110)),
            LineKind::Error => (String::from("! "), colors.fg(Color::Red, 203), colors.fg(Color::Red, 203)),
        };
        let text_style = if l.mention { colors.alert() } else { text_style };
        let stamp = if l.kind == LineKind::Info { String::new() } else { stamp };
        let indent = (stamp.chars().count() + who.chars().count()).min(width / 2);
        for (i, piece) in wrap(&l.text, width.saturating_sub(indent).max(1)).into_iter().enumerate() {
            let mut spans = Vec::new();
            if i == 0 {
                spans.push(Span::styled(stamp.clone(), colors.dim()));
                spans.push(Span::styled(who.clone(), who_style));
            } else {
                spans.push(Span::raw(" ".repeat(indent)));
            }
            spans.push(Span::styled(piece, text_style));
            out.push(TextLine::from(spans));
        }
    }
    out
}

/// Splits `text` into pieces at most `width` columns wide, at spaces when it can.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    let mut cols = 0;
    for word in text.split_inclusive(' ') {
        // The trailing space may hang over the edge.
        let w: usize = word.trim_end().chars().map(|c| c.width().unwrap_or(0)).sum();
        if cols + w.min(width) > width && !line.is_empty() {
            out.push(std::mem::take(&mut line).trim_end().to_string());
            cols = 0;
        }
        for c in word.chars() {
            let cw = c.width().unwrap_or(0);
            if cols + cw > width && c != ' ' {
                out.push(std::mem::take(&mut line));
                cols = 0;
            }
            line.push(c);
            cols += cw;
        }
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line.trim_end().to_string());
    }
    out
}

fn draw_input(frame: &mut Frame, st: &State, colors: Colors, area: Rect) {
    let label = match st.current().kind {
        Kind::Home => String::from("[home] "),
        _ => format!("[{}] ", clip(&st.current().name, 16)),
    };
    let label_w = label.chars().count();
    let room = usize::from(area.width).saturating_sub(label_w + 1).max(1);
    let chars: Vec<char> = st.input.text.chars().collect();
    // Keep the cursor in view: scroll the text left when it is long.
    let skip = st.input.cursor.saturating_sub(room - 1);
    let visible: String = chars.iter().skip(skip).take(room).collect();
    frame.render_widget(
        Paragraph::new(TextLine::from(vec![Span::styled(label, colors.fg(Color::Cyan, 110)), Span::raw(visible)])),
        area,
    );
    let before: usize = chars[skip..st.input.cursor.min(chars.len())].iter().map(|c| c.width().unwrap_or(0)).sum();
    let x = area.x + (label_w + before).min(usize::from(area.width).saturating_sub(1)) as u16;
    frame.set_cursor_position((x, area.y));
}

fn clip(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}
