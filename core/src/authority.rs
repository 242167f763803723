//! Where tokens come from: Entra ID clouds, regional hosts, and generic OIDC authorities.
//!
//! HTTPS is required everywhere except loopback (so tests and the local emulator work).

use crate::env::Env;
use url::Url;

/// Well-known Entra ID authority hosts.
pub mod hosts {
    /// Azure public cloud.
    pub const PUBLIC: &str = "https://login.microsoftonline.com";
    /// Azure US Government.
    pub const US_GOVERNMENT: &str = "https://login.microsoftonline.us";
    /// Azure operated by 21Vianet (China).
    pub const CHINA: &str = "https://login.chinacloudapi.cn";
}

/// Public-cloud host names whose regional form is `{region}.login.microsoft.com` (MSAL's rule).
const PUBLIC_CLOUD_ALIASES: [&str; 4] = ["login.microsoftonline.com", "login.microsoft.com", "login.windows.net", "sts.windows.net"];

/// The authority that issues tokens.
///
/// ```
/// use entra_token::Authority;
/// let authority = Authority::entra("https://login.microsoftonline.us").unwrap();
/// assert_eq!(authority.token_endpoint("contoso").unwrap().as_str(),
///            "https://login.microsoftonline.us/contoso/oauth2/v2.0/token");
/// let regional = Authority::public().with_region("westus2");
/// assert_eq!(regional.token_endpoint("contoso").unwrap().as_str(),
///            "https://westus2.login.microsoft.com/contoso/oauth2/v2.0/token");
/// assert!(Authority::entra("http://login.example.com").is_err()); // https only, except loopback
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Authority {
    /// Entra ID at `host`; the token endpoint is `{host}/{tenant}/oauth2/v2.0/token`.
    Entra {
        /// Scheme, host and port, without a trailing slash.
        host: Url,
        /// The ESTS-R region, when regional endpoints are used.
        region: Option<Region>,
    },
    /// Any OpenID Connect issuer; its token endpoint comes from
    /// `{issuer}/.well-known/openid-configuration` and must be on the issuer's host.
    Oidc {
        /// The issuer URL.
        issuer: Url,
    },
}

/// Which ESTS-R region a confidential client's token requests go to.
///
/// ```
/// use entra_token::{Authority, Region};
/// assert_eq!(Authority::public().with_region("West US 2"), Authority::Entra { host: Authority::public_host(), region: Some(Region::Named("westus2".into())) });
/// assert!(matches!(Authority::public().with_region("TryAutoDetect"), Authority::Entra { region: Some(Region::Detect), .. }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Region {
    /// This region, such as `westus2` (spaces dropped, lower case).
    Named(String),
    /// The region IMDS reports for this VM, asked before the first token request (MSAL's
    /// `TryAutoDetect`); the global endpoint when IMDS cannot say.
    Detect,
}

impl Region {
    pub(crate) fn as_key(&self) -> &str {
        match self {
            Region::Named(name) => name,
            Region::Detect => "(detect)",
        }
    }
}

impl Authority {
    /// The Azure public cloud.
    pub fn public() -> Self {
        Self::entra(hosts::PUBLIC).expect("the public cloud host is a valid URL")
    }

    /// Entra ID at a given host, such as [`hosts::US_GOVERNMENT`] or a loopback emulator.
    pub fn entra(host: &str) -> Result<Self, String> {
        let url = parse_secure_url(host)?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!("authority host {host:?} must not have a query or fragment"));
        }
        let mut url = url;
        let trimmed = url.path().trim_end_matches('/').to_owned();
        url.set_path(&trimmed);
        Ok(Authority::Entra { host: url, region: None })
    }

    /// A generic OpenID Connect authority (CIAM tenants, other OAuth 2.0 servers).
    pub fn oidc(issuer: &str) -> Result<Self, String> {
        let mut url = parse_secure_url(issuer)?;
        let trimmed = url.path().trim_end_matches('/').to_owned();
        url.set_path(&trimmed);
        Ok(Authority::Oidc { issuer: url })
    }

    /// Uses the regional (ESTS-R) endpoint of `region`, or of the region IMDS reports when
    /// `region` is `TryAutoDetect` (MSAL's value, any case). No effect on OIDC authorities or on
    /// hosts given by IP address.
    pub fn with_region(self, region: &str) -> Self {
        match self {
            Authority::Entra { host, .. } => {
                let name = region.trim().replace(' ', "").to_ascii_lowercase();
                let region = match name.as_str() {
                    "" => None,
                    "tryautodetect" => Some(Region::Detect),
                    _ => Some(Region::Named(name)),
                };
                Authority::Entra { host, region }
            }
            other => other,
        }
    }

    /// The host of the public cloud, `https://login.microsoftonline.com`.
    pub fn public_host() -> Url {
        match Authority::public() {
            Authority::Entra { host, .. } => host,
            Authority::Oidc { issuer } => issuer,
        }
    }

    /// Whether the region is to be asked of IMDS before the first token request.
    pub fn detects_region(&self) -> bool {
        matches!(self, Authority::Entra { region: Some(Region::Detect), .. })
    }

    /// For [`Region::Detect`], the authority with the region IMDS reports (asked once per
    /// process, 2 s bound; `AZURE_POD_IDENTITY_AUTHORITY_HOST` in `env` moves IMDS), or without
    /// a region when IMDS cannot say. Any other authority comes back as it is. The credentials
    /// do this themselves; `entra-token doctor` shows it.
    ///
    /// ```no_run
    /// # async fn run() {
    /// use entra_token::{Authority, Env, HttpOptions};
    /// let authority = Authority::public().with_region("TryAutoDetect");
    /// let resolved = authority.with_detected_region(&Env::process(), &HttpOptions::default()).await;
    /// println!("{:?}", resolved.token_endpoint("contoso.onmicrosoft.com"));
    /// # }
    /// ```
    pub async fn with_detected_region(self, env: &Env, http: &crate::http::HttpOptions) -> Authority {
        if !self.detects_region() {
            return self;
        }
        let host = match self {
            Authority::Entra { host, .. } => host,
            other => return other,
        };
        let region = crate::region::detect(&crate::region::imds_address(env), http).await;
        Authority::Entra { host, region: region.map(Region::Named) }
    }

    /// The authority that `AZURE_AUTHORITY_HOST` and `AZURE_REGIONAL_AUTHORITY_NAME` describe,
    /// defaulting to the public cloud. `AZURE_REGIONAL_AUTHORITY_NAME=tryautodetect` (or
    /// `true`) takes the region from `REGION_NAME`, else [`Region::Detect`].
    pub fn from_env(env: &Env) -> Result<Self, String> {
        let authority = match env.get("AZURE_AUTHORITY_HOST") {
            Some(host) => Self::entra(&host).map_err(|e| format!("AZURE_AUTHORITY_HOST: {e}"))?,
            None => Self::public(),
        };
        let region = match env.get("AZURE_REGIONAL_AUTHORITY_NAME").as_deref() {
            None => None,
            Some(r) if r.eq_ignore_ascii_case("tryautodetect") || r.eq_ignore_ascii_case("true") => Some(env.get("REGION_NAME").unwrap_or_else(|| "tryautodetect".into())),
            Some(r) => Some(r.to_owned()),
        };
        Ok(match region {
            Some(r) => authority.with_region(&r),
            None => authority,
        })
    }

    /// The v2 token endpoint for `tenant`. OIDC authorities have none until discovered; a
    /// region still to be detected gives the global endpoint here (the credentials detect it).
    pub fn token_endpoint(&self, tenant: &str) -> Result<Url, String> {
        match self {
            Authority::Entra { host, region } => {
                validate_tenant(tenant)?;
                let mut url = host.clone();
                if let (Some(Region::Named(region)), Some(name)) = (region, host.host_str()) {
                    if url.host_str().is_some_and(|h| h.parse::<std::net::IpAddr>().is_err() && h != "localhost") {
                        let regional = if PUBLIC_CLOUD_ALIASES.contains(&name) {
                            format!("{region}.login.microsoft.com")
                        } else {
                            format!("{region}.{name}")
                        };
                        url.set_host(Some(&regional)).map_err(|e| format!("regional host {regional:?}: {e}"))?;
                    }
                }
                let path = format!("{}/{tenant}/oauth2/v2.0/token", url.path().trim_end_matches('/'));
                url.set_path(&path);
                Ok(url)
            }
            Authority::Oidc { .. } => Err("an OIDC authority's token endpoint comes from discovery".into()),
        }
    }

    /// The OpenID configuration document of an OIDC authority.
    pub fn discovery_url(&self) -> Option<Url> {
        match self {
            Authority::Oidc { issuer } => {
                let mut url = issuer.clone();
                let path = format!("{}/.well-known/openid-configuration", issuer.path().trim_end_matches('/'));
                url.set_path(&path);
                Some(url)
            }
            Authority::Entra { .. } => None,
        }
    }

    /// Checks a discovered token endpoint: it must be on the issuer's own scheme, host and port,
    /// so a tampered discovery document cannot send a client secret elsewhere.
    pub fn check_discovered_endpoint(&self, endpoint: &str) -> Result<Url, String> {
        let Authority::Oidc { issuer } = self else {
            return Err("not an OIDC authority".into());
        };
        let url = parse_secure_url(endpoint).map_err(|e| format!("discovered token endpoint: {e}"))?;
        if url.host_str() != issuer.host_str() || url.port_or_known_default() != issuer.port_or_known_default() || url.scheme() != issuer.scheme() {
            return Err(format!(
                "the discovery document names token endpoint {}, which is not on the authority's host {}; refusing to send credentials there",
                without_query(&url),
                issuer.origin().ascii_serialization()
            ));
        }
        Ok(url)
    }

    /// Whether this is a public-cloud Entra authority (used to pick the federated-credential audience).
    pub fn host_str(&self) -> Option<&str> {
        match self {
            Authority::Entra { host, .. } => host.host_str(),
            Authority::Oidc { issuer } => issuer.host_str(),
        }
    }
}

/// Tenant ids are GUIDs or domain names: letters, digits, `-` and `.` (azure-identity's rule).
pub fn validate_tenant(tenant: &str) -> Result<(), String> {
    if tenant.is_empty() || !tenant.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
        return Err(format!("tenant id {tenant:?} is invalid; use a GUID or a domain name such as contoso.onmicrosoft.com"));
    }
    Ok(())
}

/// Whether the URL points at this machine (`localhost`, 127.0.0.0/8 or `::1`).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Parses a URL that must be https, or http on loopback.
pub fn parse_secure_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("{text:?} is not a valid URL: {e}"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(format!("{text:?} must use https (plain http is allowed only on loopback)")),
        other => Err(format!("{text:?} has unsupported scheme {other:?}")),
    }
}

/// The URL without query or fragment, for error messages (queries may hold ids).
pub fn without_query(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clouds_and_regions() {
        let t = |a: Authority| a.token_endpoint("t").unwrap().to_string();
        assert_eq!(t(Authority::public()), "https://login.microsoftonline.com/t/oauth2/v2.0/token");
        assert_eq!(t(Authority::entra(hosts::CHINA).unwrap()), "https://login.chinacloudapi.cn/t/oauth2/v2.0/token");
        assert_eq!(t(Authority::entra(hosts::CHINA).unwrap().with_region("chinaeast2")), "https://chinaeast2.login.chinacloudapi.cn/t/oauth2/v2.0/token");
        assert_eq!(t(Authority::entra("https://login.windows.net/").unwrap().with_region("West US")), "https://westus.login.microsoft.com/t/oauth2/v2.0/token");
        assert_eq!(t(Authority::entra("http://127.0.0.1:8080").unwrap().with_region("westus")), "http://127.0.0.1:8080/t/oauth2/v2.0/token");
    }

    #[test]
    fn https_required_except_loopback() {
        assert!(Authority::entra("http://localhost:1234").is_ok());
        assert!(Authority::entra("http://[::1]:1234").is_ok());
        assert!(Authority::entra("http://10.0.0.1").is_err());
        assert!(Authority::entra("ftp://login.microsoftonline.com").is_err());
        assert!(Authority::public().token_endpoint("bad tenant").is_err());
        assert!(Authority::public().token_endpoint("../x").is_err());
    }

    #[test]
    fn env_selects_host_and_region() {
        let env = Env::from_pairs([("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us/"), ("AZURE_REGIONAL_AUTHORITY_NAME", "usgovvirginia")]);
        let a = Authority::from_env(&env).unwrap();
        assert_eq!(a.token_endpoint("t").unwrap().as_str(), "https://usgovvirginia.login.microsoftonline.us/t/oauth2/v2.0/token");
        let env = Env::from_pairs([("AZURE_REGIONAL_AUTHORITY_NAME", "tryautodetect"), ("REGION_NAME", "East US")]);
        assert_eq!(Authority::from_env(&env).unwrap().token_endpoint("t").unwrap().host_str(), Some("eastus.login.microsoft.com"));
        let env = Env::from_pairs([("AZURE_REGIONAL_AUTHORITY_NAME", "tryautodetect")]);
        let detecting = Authority::from_env(&env).unwrap();
        assert!(detecting.detects_region());
        assert_eq!(detecting.token_endpoint("t").unwrap().host_str(), Some("login.microsoftonline.com"), "global until detected");
    }

    #[test]
    fn discovered_endpoint_must_stay_on_host() {
        let a = Authority::oidc("https://idp.example.com/tenant/v2.0").unwrap();
        assert_eq!(a.discovery_url().unwrap().as_str(), "https://idp.example.com/tenant/v2.0/.well-known/openid-configuration");
        assert!(a.check_discovered_endpoint("https://idp.example.com/oauth2/token").is_ok());
        assert!(a.check_discovered_endpoint("https://evil.example.net/oauth2/token").is_err());
        assert!(a.check_discovered_endpoint("https://idp.example.com:8443/oauth2/token").is_err());
        assert!(a.check_discovered_endpoint("http://idp.example.com/oauth2/token").is_err());
    }
}
