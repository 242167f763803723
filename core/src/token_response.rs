//! Token responses of every shape, and the expiry rules of protocol.md section D.9.
//!
//! `expires_on`/`expires_in`/`refresh_in` may be numbers or numeric strings; an `expires_on`
//! below 978307200 (2001-01-01) is relative seconds, above it an absolute epoch; ISO-8601 and
//! the two date strings of the old 2017-09-01 endpoint are read too. A lifetime that is not
//! positive is an error, never a cached token.

use crate::secret::Secret;
use crate::token::AccessToken;
use serde_json::Value;

/// Lifetimes from this long up get a proactive refresh at half life (MSAL's rule).
pub const HALF_LIFE_REFRESH_THRESHOLD: u64 = 7200;
const ABSOLUTE_EPOCH_THRESHOLD: u64 = 978_307_200;

/// A parsed token answer.
#[derive(Clone)]
pub(crate) struct TokenResponse {
    pub token: Secret,
    pub expires_on: u64,
    pub refresh_on: Option<u64>,
    pub token_type: String,
    /// The whole JSON body, for sources that must check more fields (Arc's identity echo).
    pub body: Value,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse").field("expires_on", &self.expires_on).field("refresh_on", &self.refresh_on).finish_non_exhaustive()
    }
}

impl TokenResponse {
    /// The token, carrying the cache key it will be stored under.
    pub fn into_cached_token(self, key: crate::cache::Key) -> AccessToken {
        AccessToken::with_entry(self.token, self.expires_on, self.refresh_on, &self.token_type, crate::cache::EntryState::keyed(key))
    }
}

/// Parses a successful token body received at `now`.
pub(crate) fn parse(body: &[u8], now: u64) -> Result<TokenResponse, String> {
    let json: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON ({e})"))?;
    let token = json
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| "the body has no access_token".to_owned())?;
    // MSAL.NET lets whichever of expires_in / expires_on comes later win; we prefer the
    // unambiguous relative expires_in, and fall back to expires_on.
    let expires_on = match (json.get("expires_in"), json.get("expires_on")) {
        (Some(v), _) if !v.is_null() => {
            let secs = number(v).ok_or_else(|| format!("expires_in {v} is not a number of seconds"))?;
            now.checked_add_signed(secs).unwrap_or(0)
        }
        (_, Some(v)) if !v.is_null() => timestamp(v, now).ok_or_else(|| format!("expires_on {v} is not a time this library can read"))?,
        _ => return Err("the body has neither expires_in nor expires_on".into()),
    };
    if expires_on <= now {
        return Err(format!("the token's lifetime is not positive (expires_on {expires_on}, now {now})"));
    }
    let lifetime = expires_on - now;
    let refresh_on = match json.get("refresh_in").and_then(number) {
        Some(r) if r > 0 && (r as u64) < lifetime => Some(now + r as u64),
        _ if lifetime >= HALF_LIFE_REFRESH_THRESHOLD => Some(now + lifetime / 2),
        _ => None,
    };
    let token_type = json.get("token_type").and_then(Value::as_str).filter(|t| !t.is_empty()).unwrap_or("Bearer").to_owned();
    Ok(TokenResponse { token: Secret::new(token), expires_on, refresh_on, token_type, body: json })
}

fn number(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse::<i64>().ok().or_else(|| s.trim().parse::<f64>().ok().map(|f| f as i64)),
        _ => None,
    }
}

/// An `expires_on`: epoch or relative seconds (number or string), ISO-8601, or the
/// `MM/DD/YYYY HH:MM:SS [AM|PM] +00:00` strings of the 2017-09-01 endpoint.
pub(crate) fn timestamp(v: &Value, now: u64) -> Option<u64> {
    if let Some(n) = number(v) {
        let n = u64::try_from(n).ok()?;
        return Some(if n < ABSOLUTE_EPOCH_THRESHOLD { now + n } else { n });
    }
    let s = v.as_str()?.trim();
    parse_iso8601(s).or_else(|| parse_us_date(s))
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
fn parse_iso8601(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.chars().take_while(char::is_ascii_digit).count();
        rest = &frac[digits..];
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hm = rest[1..].replace(':', "");
            if hm.len() != 4 {
                return None;
            }
            sign * (hm[..2].parse::<i64>().ok()? * 3600 + hm[2..].parse::<i64>().ok()? * 60)
        }
    };
    epoch(y, mo, d, h, mi, se).map(|t| t - offset).and_then(|t| u64::try_from(t).ok())
}

/// `06/20/2019 02:57:58 +00:00` and `1/16/2020 5:24:12 AM +00:00` (azure-identity accepts only
/// the literal `+00:00` suffix, and so do we).
fn parse_us_date(s: &str) -> Option<u64> {
    let s = s.strip_suffix(" +00:00")?;
    let mut parts = s.split(' ');
    let date: Vec<i64> = parts.next()?.split('/').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let time: Vec<i64> = parts.next()?.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let (&[mo, d, y], &[mut h, mi, se]) = (date.as_slice(), time.as_slice()) else { return None };
    match parts.next() {
        None => {}
        Some("AM") if (1..=12).contains(&h) => h %= 12,
        Some("PM") if (1..=12).contains(&h) => h = h % 12 + 12,
        _ => return None,
    }
    if parts.next().is_some() {
        return None;
    }
    epoch(y, mo, d, h, mi, se).and_then(|t| u64::try_from(t).ok())
}

/// Seconds since the epoch of a UTC civil time (Howard Hinnant's days-from-civil).
fn epoch(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Option<i64> {
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || !(0..24).contains(&h) || !(0..60).contains(&mi) || !(0..=60).contains(&s) {
        return None;
    }
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_700_000_000;

    #[test]
    fn expires_in_as_number_or_string_and_half_life() {
        let r = parse(br#"{"access_token":"AT","expires_in":"7890","resource":"R"}"#, NOW).unwrap();
        assert_eq!(r.expires_on, NOW + 7890);
        assert_eq!(r.refresh_on, Some(NOW + 3945));
        assert_eq!(r.token_type, "Bearer");
        let r = parse(br#"{"access_token":"AT","expires_in":3599,"token_type":"Bearer"}"#, NOW).unwrap();
        assert_eq!((r.expires_on, r.refresh_on), (NOW + 3599, None));
        let r = parse(br#"{"access_token":"AT","expires_in":3599,"refresh_in":1800}"#, NOW).unwrap();
        assert_eq!(r.refresh_on, Some(NOW + 1800));
    }

    #[test]
    fn expires_on_shapes() {
        assert_eq!(timestamp(&json!("1586984735"), NOW), Some(1_586_984_735));
        assert_eq!(timestamp(&json!(1234), NOW), Some(NOW + 1234));
        assert_eq!(timestamp(&json!("2020-04-15T21:05:35Z"), NOW), Some(1_586_984_735));
        assert_eq!(timestamp(&json!("2020-04-15T23:05:35.0000000+02:00"), NOW), Some(1_586_984_735));
        assert_eq!(timestamp(&json!("04/15/2020 21:05:35 +00:00"), NOW), Some(1_586_984_735));
        assert_eq!(timestamp(&json!("4/15/2020 9:05:35 PM +00:00"), NOW), Some(1_586_984_735));
        assert_eq!(timestamp(&json!("4/15/2020 12:05:35 AM +00:00"), NOW), Some(1_586_909_135));
        assert_eq!(timestamp(&json!("04/15/2020 21:05:35 +01:00"), NOW), None);
        assert_eq!(timestamp(&json!("soon"), NOW), None);
        assert_eq!(timestamp(&json!(true), NOW), None);
    }

    #[test]
    fn rejects_unusable_bodies() {
        assert!(parse(b"{", NOW).unwrap_err().contains("not JSON"));
        assert!(parse(br#"{"expires_in":10}"#, NOW).unwrap_err().contains("access_token"));
        assert!(parse(br#"{"access_token":"AT"}"#, NOW).unwrap_err().contains("expires"));
        assert!(parse(br#"{"access_token":"AT","expires_on":"1500000000"}"#, NOW).unwrap_err().contains("not positive"));
        assert!(parse(br#"{"access_token":"AT","expires_in":0}"#, NOW).unwrap_err().contains("not positive"));
        assert!(parse(br#"{"access_token":"AT","expires_in":"abc"}"#, NOW).is_err());
    }
}
