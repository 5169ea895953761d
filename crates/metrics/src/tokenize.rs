//! The caption tokenizer used before BLEU, ROUGE-L and CIDEr-D.
//!
//! Rules, in order:
//!
//! 1. The text is lower-cased (Unicode lower case).
//! 2. A token is a maximal run of alphanumeric characters (Unicode
//!    letters and digits); everything else separates tokens and is dropped
//!    (spaces, punctuation, symbols such as `%` or `°`).
//! 3. Numbers stay whole: a `.` between two digits belongs to the token
//!    (`"72.5"`, `"v1.2"`), and a `-` (or the minus sign `−`) directly in
//!    front of a digit, at the start of the text or after a character that is
//!    not alphanumeric, is kept as a leading `-` (`"-3.2"`, `"(−1)"` →
//!    `"-1"`). A `-` between two alphanumerics is a separator
//!    (`"10-20"` → `"10"`, `"20"`; `"heart-rate"` → `"heart"`, `"rate"`).
//!    A thousands separator `,` splits (`"1,000"` → `"1"`, `"000"`).
//!
//! This is not the Stanford PTB tokenizer used by the COCO caption
//! evaluator; the metrics themselves take token lists, so their values match
//! the reference implementations given the same tokens.

/// Split `text` into lower-case tokens (see the module docs for the rules).
///
/// ```
/// use wearlang_metrics::tokenize;
/// assert_eq!(
///     tokenize("Heart rate rose to 72.5 bpm, then fell (−3.2%)."),
///     ["heart", "rate", "rose", "to", "72.5", "bpm", "then", "fell", "-3.2"]
/// );
/// ```
pub fn tokenize(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, tokens: &mut Vec<String>| {
        if !current.is_empty() {
            tokens.push(std::mem::take(current));
        }
    };
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1).copied();
        let next_is_digit = next.is_some_and(|n| n.is_ascii_digit());
        if c.is_alphanumeric() {
            current.extend(c.to_lowercase());
        } else if c == '.' && next_is_digit && prev.is_some_and(|p| p.is_ascii_digit()) {
            current.push('.');
        } else if (c == '-' || c == '\u{2212}')
            && next_is_digit
            && !prev.is_some_and(|p| p.is_alphanumeric())
        {
            flush(&mut current, &mut tokens);
            current.push('-');
        } else {
            flush(&mut current, &mut tokens);
        }
    }
    flush(&mut current, &mut tokens);
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert_eq!(tokenize("  Walking, RUNNING!  "), ["walking", "running"]);
        assert_eq!(tokenize("72.5 bpm."), ["72.5", "bpm"]);
        assert_eq!(tokenize("ends with 3."), ["ends", "with", "3"]);
        assert_eq!(tokenize(".5 and 5."), ["5", "and", "5"]);
        assert_eq!(tokenize("-3.2 and −1"), ["-3.2", "and", "-1"]);
        assert_eq!(tokenize("10-20 min"), ["10", "20", "min"]);
        assert_eq!(tokenize("heart-rate"), ["heart", "rate"]);
        assert_eq!(tokenize("1,000 steps"), ["1", "000", "steps"]);
        assert_eq!(
            tokenize("95% SpO2 at 10:30"),
            ["95", "spo2", "at", "10", "30"]
        );
        assert_eq!(tokenize("Übung Schritte"), ["übung", "schritte"]);
        assert_eq!(tokenize("a - b"), ["a", "b"]);
        assert!(tokenize("").is_empty());
        assert!(tokenize(" ,.;- ").is_empty());
    }
}
