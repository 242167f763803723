//! Environment variables, read through an injectable map so tests never touch the process
//! environment (which is shared by every test thread).

use std::collections::HashMap;
use std::sync::Arc;

/// Where configuration variables come from: the process environment or a fixed map.
///
/// Empty values count as unset, as MSAL.NET and @azure/identity treat them.
///
/// ```
/// use entra_token::Env;
/// let env = Env::from_pairs([("AZURE_TENANT_ID", "contoso"), ("AZURE_CLIENT_ID", "")]);
/// assert_eq!(env.get("AZURE_TENANT_ID").as_deref(), Some("contoso"));
/// assert_eq!(env.get("AZURE_CLIENT_ID"), None);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Env(Option<Arc<HashMap<String, String>>>);

impl Env {
    /// The process environment.
    pub fn process() -> Self {
        Env(None)
    }

    /// A fixed set of variables; nothing else is visible.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Env(Some(Arc::new(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect())))
    }

    /// The value of `name`, or `None` when it is unset or empty.
    pub fn get(&self, name: &str) -> Option<String> {
        let value = match &self.0 {
            None => std::env::var(name).ok(),
            Some(map) => map.get(name).cloned(),
        };
        value.filter(|v| !v.is_empty())
    }

    /// Every set, non-empty variable (sorted by name, so overrides apply in a stable order).
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = match &self.0 {
            None => std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect(),
            Some(map) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        };
        pairs.retain(|(_, v)| !v.is_empty());
        pairs.sort();
        pairs
    }
}
