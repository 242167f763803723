//! Secret values: client secrets, assertions, access tokens, identity header values.
//!
//! They live in [`Secret`], whose `Debug` and `Display` print `[redacted]` and whose memory is
//! zeroized when the last clone is dropped, so a secret cannot leak through logs or error strings
//! by accident; reading it takes an explicit [`Secret::expose_secret`].

use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// A string that must never be printed: its `Debug` and `Display` show `[redacted]`.
///
/// The value lives in one exact-size allocation, zeroized when dropped; a clone is its own copy
/// (secrets are short, and an owned copy keeps a cached token to a single allocation).
///
/// ```
/// use entra_token::Secret;
/// let secret = Secret::new("hunter2");
/// assert_eq!(format!("{secret:?}"), "Secret([redacted])");
/// assert_eq!(secret.expose_secret(), "hunter2");
/// ```
#[derive(Clone)]
pub struct Secret(Zeroizing<Box<str>>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        let mut value: String = value.into();
        if value.len() == value.capacity() {
            return Secret(Zeroizing::new(value.into_boxed_str()));
        }
        // Shrinking in place could move the bytes and free the old buffer unzeroized: copy,
        // then wipe the original.
        let exact: Box<str> = value.as_str().into();
        value.zeroize();
        Secret(Zeroizing::new(exact))
    }

    /// The secret itself.
    ///
    /// Security: the returned string must go only where the secret is meant to go (a request
    /// body, a header). Never log or format it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl PartialEq for Secret {
    /// Constant-time in the length of the shorter value, so comparing does not leak a prefix.
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.expose_secret().as_bytes(), other.expose_secret().as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl Eq for Secret {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let s = Secret::new("super-secret-value");
        assert!(!format!("{s:?}").contains("super-secret"));
        assert!(!format!("{s}").contains("super-secret"));
        assert!(!format!("{:#?}", vec![s.clone()]).contains("super-secret"));
    }

    #[test]
    fn equality_compares_values() {
        assert_eq!(Secret::new("a"), Secret::new("a"));
        assert_ne!(Secret::new("a"), Secret::new("b"));
        assert_ne!(Secret::new("a"), Secret::new("ab"));
    }
}
