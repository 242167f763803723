//! Claims challenges from protected APIs (Conditional Access, Continuous Access Evaluation):
//! `401` with `WWW-Authenticate: Bearer ..., error="insufficient_claims", claims="<base64 JSON>"`.
//! The HTTP helpers of every runtime use this to decide on their one retry.
//!
//! ```
//! use entra_token::challenge::claims_from_challenge;
//! let header = r#"Bearer realm="", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnt9fQ==""#;
//! assert_eq!(claims_from_challenge(header).as_deref(), Some(r#"{"access_token":{}}"#));
//! assert_eq!(claims_from_challenge(r#"Bearer error="invalid_token""#), None);
//! ```

use base64::Engine;

/// The decoded claims JSON of a `WWW-Authenticate` header's Bearer challenge, if it carries one
/// that asks for more claims. `None` for any other challenge, or claims that are not base64 JSON.
pub fn claims_from_challenge(www_authenticate: &str) -> Option<String> {
    let params = bearer_params(www_authenticate)?;
    let error = params.iter().find(|(k, _)| k.eq_ignore_ascii_case("error")).map(|(_, v)| v.as_str());
    if error.is_some_and(|e| e != "insufficient_claims") {
        return None;
    }
    let encoded = params.iter().find(|(k, _)| k.eq_ignore_ascii_case("claims")).map(|(_, v)| v.trim())?;
    let unpadded = encoded.trim_end_matches('=');
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(unpadded)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(unpadded))
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    serde_json::from_str::<serde_json::Value>(&text).ok().filter(serde_json::Value::is_object)?;
    Some(text)
}

/// The `key="value"` parameters of the Bearer challenge (quoted or token values).
fn bearer_params(header: &str) -> Option<Vec<(String, String)>> {
    let start = header.find("Bearer").or_else(|| header.find("bearer"))?;
    let mut rest = &header[start + "Bearer".len()..];
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', ',', '\t']);
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().to_owned();
        if key.contains(' ') {
            break; // the next challenge's scheme
        }
        rest = &rest[eq + 1..];
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"')?;
            let v = quoted[..end].to_owned();
            rest = &quoted[end + 1..];
            v
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            let v = rest[..end].trim().to_owned();
            rest = &rest[end..];
            v
        };
        params.push((key, value));
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::claims_from_challenge;

    #[test]
    fn reads_the_caes_shape_and_refuses_others() {
        // The form Microsoft Graph sends for a CAE revocation.
        let graph = r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwgInZhbHVlIjoiMTYwNDEwNjY1MSJ9fX0=""#;
        assert_eq!(claims_from_challenge(graph).as_deref(), Some(r#"{"access_token":{"nbf":{"essential":true, "value":"1604106651"}}}"#));
        assert_eq!(claims_from_challenge(r#"Bearer error="invalid_token", claims="e30=""#), None, "another error");
        assert_eq!(claims_from_challenge(r#"Bearer claims="bm90IGpzb24=""#), None, "not JSON");
        assert_eq!(claims_from_challenge(r#"Basic realm="x""#), None);
        assert_eq!(claims_from_challenge(r#"Bearer realm="", claims="e30""#).as_deref(), Some("{}"), "unpadded");
    }
}
