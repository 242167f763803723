//! Scope rules as Entra applies them.
//!
//! Managed identity endpoints take a `resource` (the scope without `/.default`); the v2 token
//! endpoint takes scopes. Scope characters are checked as azure-identity checks them, so a typo
//! such as a stray space fails before any request.

/// The suffix that asks for all the app roles or permissions granted on a resource.
pub const DEFAULT_SUFFIX: &str = "/.default";

/// Checks one scope: non-empty and made of `A-Z a-z 0-9 - _ . : /` only.
///
/// ```
/// assert!(entra_token::scope::validate("api://weather/.default").is_ok());
/// assert!(entra_token::scope::validate("https://vault.azure.net/.default extra").is_err());
/// ```
pub fn validate(scope: &str) -> Result<(), String> {
    if scope.is_empty() {
        return Err("a scope is empty".into());
    }
    match scope.chars().find(|c| !(c.is_ascii_alphanumeric() || "-_.:/".contains(*c))) {
        Some(bad) => Err(format!("scope {scope:?} contains {bad:?}; scopes may hold only letters, digits and - _ . : /")),
        None => Ok(()),
    }
}

/// The resource a scope names: the scope without a trailing `/.default`.
///
/// ```
/// assert_eq!(entra_token::scope::to_resource("https://vault.azure.net/.default"), "https://vault.azure.net");
/// assert_eq!(entra_token::scope::to_resource("api://weather"), "api://weather");
/// ```
pub fn to_resource(scope: &str) -> &str {
    scope.strip_suffix(DEFAULT_SUFFIX).unwrap_or(scope)
}

/// The `.default` scope of a resource.
///
/// ```
/// assert_eq!(entra_token::scope::from_resource("https://vault.azure.net/"), "https://vault.azure.net/.default");
/// assert_eq!(entra_token::scope::from_resource("api://weather/.default"), "api://weather/.default");
/// ```
pub fn from_resource(resource: &str) -> String {
    if resource.ends_with(DEFAULT_SUFFIX) {
        resource.to_owned()
    } else {
        format!("{}{DEFAULT_SUFFIX}", resource.trim_end_matches('/'))
    }
}

/// The single resource of a managed identity request; managed identity endpoints take exactly one.
pub fn single_resource(scopes: &[String]) -> Result<&str, String> {
    match scopes {
        [one] => {
            validate(one)?;
            Ok(to_resource(one))
        }
        [] => Err("no scope given; managed identity needs exactly one".into()),
        _ => Err(format!("{} scopes given; managed identity takes exactly one", scopes.len())),
    }
}

/// Validates all scopes and joins them as the token endpoint expects them.
pub fn join(scopes: &[String]) -> Result<String, String> {
    if scopes.is_empty() {
        return Err("no scope given; ask for a resource's .default scope, for example https://graph.microsoft.com/.default".into());
    }
    for s in scopes {
        validate(s)?;
    }
    Ok(scopes.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_whitespace_and_empty() {
        assert!(validate("").is_err());
        assert!(validate("a b").is_err());
        assert!(validate("https://x/.default\n").is_err());
        assert!(join(&[]).is_err());
        assert_eq!(join(&["a/.default".into(), "b".into()]).unwrap(), "a/.default b");
    }

    #[test]
    fn single_resource_needs_exactly_one() {
        assert_eq!(single_resource(&["https://r/.default".into()]).unwrap(), "https://r");
        assert!(single_resource(&[]).is_err());
        assert!(single_resource(&["a".into(), "b".into()]).is_err());
    }
}
