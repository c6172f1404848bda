//! The input line: editing, history (Up/Down) and nick completion (Tab).
//!
//! The cursor is a char index, so editing never splits a UTF-8 sequence.

/// The line being typed, with its history.
#[derive(Debug, Default, Clone)]
pub struct Input {
    /// The text as typed.
    pub text: String,
    /// Cursor position in chars.
    pub cursor: usize,
    history: Vec<String>,
    /// Position while browsing history (`history.len()` = the new line).
    browsing: Option<usize>,
    /// The line being typed before browsing history started.
    draft: String,
    /// Tab completion in progress: the word typed, its start and the candidates' next index.
    completion: Option<(String, usize, usize)>,
}

impl Input {
    pub fn insert(&mut self, c: char) {
        let at = self.byte_at(self.cursor);
        self.text.insert(at, c);
        self.cursor += 1;
        self.completion = None;
    }

    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            let at = self.byte_at(self.cursor);
            self.text.remove(at);
        }
        self.completion = None;
    }

    pub fn delete(&mut self) {
        if self.cursor < self.text.chars().count() {
            let at = self.byte_at(self.cursor);
            self.text.remove(at);
        }
    }

    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.text.chars().count());
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.text.chars().count();
    }

    /// Ctrl-U: clears the line.
    pub fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
        self.completion = None;
    }

    /// Ctrl-W: deletes the word before the cursor.
    pub fn delete_word(&mut self) {
        let chars: Vec<char> = self.text.chars().collect();
        let mut start = self.cursor;
        while start > 0 && chars[start - 1] == ' ' {
            start -= 1;
        }
        while start > 0 && chars[start - 1] != ' ' {
            start -= 1;
        }
        let rest: String = chars[self.cursor..].iter().collect();
        self.text = chars[..start].iter().collect::<String>() + &rest;
        self.cursor = start;
    }

    /// Enter: takes the line, remembering it in the history.
    pub fn take(&mut self) -> String {
        let line = std::mem::take(&mut self.text);
        self.cursor = 0;
        self.browsing = None;
        self.completion = None;
        if !line.trim().is_empty() && self.history.last() != Some(&line) {
            self.history.push(line.clone());
            if self.history.len() > 500 {
                self.history.remove(0);
            }
        }
        line
    }

    pub fn history_up(&mut self) {
        let at = self.browsing.unwrap_or(self.history.len());
        if at == 0 {
            return;
        }
        if self.browsing.is_none() {
            self.draft = self.text.clone();
        }
        self.browsing = Some(at - 1);
        self.set(self.history[at - 1].clone());
    }

    pub fn history_down(&mut self) {
        let Some(at) = self.browsing else { return };
        if at + 1 >= self.history.len() {
            self.browsing = None;
            let draft = std::mem::take(&mut self.draft);
            self.set(draft);
        } else {
            self.browsing = Some(at + 1);
            self.set(self.history[at + 1].clone());
        }
    }

    /// Tab: completes the word before the cursor from `nicks` (case-insensitive
    /// prefix); pressing Tab again cycles. At the start of the line a `: ` follows.
    pub fn complete(&mut self, nicks: &[String]) {
        let chars: Vec<char> = self.text.chars().collect();
        let (prefix, start, next) = match self.completion.take() {
            Some(c) => c,
            None => {
                let mut start = self.cursor;
                while start > 0 && chars[start - 1] != ' ' {
                    start -= 1;
                }
                (chars[start..self.cursor].iter().collect::<String>(), start, 0)
            }
        };
        if prefix.is_empty() {
            return;
        }
        let lower = prefix.to_lowercase();
        let mut hits: Vec<&String> = nicks.iter().filter(|n| n.to_lowercase().starts_with(&lower)).collect();
        hits.sort_by_key(|n| n.to_lowercase());
        hits.dedup();
        if hits.is_empty() {
            return;
        }
        let nick = hits[next % hits.len()];
        let suffix = if start == 0 { ": " } else { " " };
        let after: String = chars[self.cursor..].iter().collect();
        let before: String = chars[..start].iter().collect();
        self.text = format!("{before}{nick}{suffix}{after}");
        self.cursor = start + nick.chars().count() + suffix.chars().count();
        // Remember where the completed word starts, so another Tab replaces it.
        self.completion = Some((prefix, start, next + 1));
    }

    fn set(&mut self, text: String) {
        self.cursor = text.chars().count();
        self.text = text;
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.text.char_indices().nth(chars).map_or(self.text.len(), |(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(s: &str) -> Input {
        let mut i = Input::default();
        s.chars().for_each(|c| i.insert(c));
        i
    }

    #[test]
    fn edits_utf8_by_chars() {
        let mut i = typed("héllo");
        i.left();
        i.backspace();
        assert_eq!(i.text, "hélo");
        i.home();
        i.delete();
        assert_eq!(i.text, "élo");
    }

    #[test]
    fn history_browses_and_restores_the_draft() {
        let mut i = typed("one");
        i.take();
        "two".chars().for_each(|c| i.insert(c));
        i.take();
        "dra".chars().for_each(|c| i.insert(c));
        i.history_up();
        assert_eq!(i.text, "two");
        i.history_up();
        assert_eq!(i.text, "one");
        i.history_down();
        i.history_down();
        assert_eq!(i.text, "dra");
    }

    #[test]
    fn tab_completes_and_cycles() {
        let nicks = vec!["bob".to_string(), "Bobby".to_string(), "carol".to_string()];
        let mut i = typed("bo");
        i.complete(&nicks);
        assert_eq!(i.text, "bob: ");
        i.complete(&nicks);
        assert_eq!(i.text, "Bobby: ");
        let mut i = typed("hi ca");
        i.complete(&nicks);
        assert_eq!(i.text, "hi carol ");
    }

    #[test]
    fn ctrl_w_deletes_a_word() {
        let mut i = typed("hello big world");
        i.delete_word();
        assert_eq!(i.text, "hello big ");
    }
}
