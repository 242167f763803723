//! The process-wide token cache every credential goes through.
//!
//! - Keyed by who the token belongs to (credential kind, authority, tenant, client or identity id,
//!   a salted fingerprint of the credential material), the scopes and the CAE flag. A credential
//!   with a wrong secret has another fingerprint, so it can never receive another's token.
//! - Sharded: each shard is a `hashbrown::HashTable` of tokens under an `RwLock`; a hit takes one
//!   read lock, hashes a borrowed key (no allocation) and clones one `Arc`. The token's own
//!   allocation holds its key and bookkeeping, so a hit at scale touches the table's control
//!   bytes, one bucket, the token and the key text: nothing else.
//! - Single flight: concurrent misses on one key share one fetch (a `Shared` future); no lock is
//!   held across I/O, so other keys are never delayed.
//! - Proactive refresh: from `refresh_on` on, callers keep getting the valid token while exactly
//!   one background refresh runs (a compare-and-swap flag); a failed refresh keeps the old token
//!   and is retried after a delay.
//! - Bounded: at most `max_entries`, evicted with CLOCK (approximate LRU); expired entries go first.

use crate::authority::Authority;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::token::{AccessToken, BoxFuture, CacheQuery, TokenRequest};
use crate::token_response::TokenResponse;
use futures_util::FutureExt;
use futures_util::future::Shared;
use hashbrown::HashTable;
use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

/// Settings of a [`TokenCache`].
///
/// ```
/// use entra_token::CacheOptions;
/// let options = CacheOptions { max_entries: 1_000, ..CacheOptions::default() };
/// assert_eq!(options.expiry_skew.as_secs(), 300);
/// ```
#[derive(Clone, Debug)]
pub struct CacheOptions {
    /// The most tokens kept; the least recently used go first beyond it.
    pub max_entries: usize,
    /// A token with less than this left is treated as expired (5 minutes, as every peer does).
    pub expiry_skew: Duration,
    /// After a failed background refresh, wait this long before trying again.
    pub refresh_retry_delay: Duration,
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions { max_entries: 100_000, expiry_skew: Duration::from_secs(300), refresh_retry_delay: Duration::from_secs(30) }
    }
}

/// Counters of a [`TokenCache`]. `hits + misses` is the number of lookups; `fetches` counts the
/// token requests actually sent (fewer than misses when concurrent callers share one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that found no valid token.
    pub misses: u64,
    /// Token requests sent for misses, forced refreshes and claims challenges.
    pub fetches: u64,
    /// Background refreshes that succeeded.
    pub refreshes: u64,
    /// Background refreshes that failed (the old token stayed in use).
    pub refresh_failures: u64,
    /// Entries evicted to stay within `max_entries`.
    pub evictions: u64,
    /// Tokens too short-lived to cache (given to their caller only).
    pub uncacheable: u64,
    /// Entries held now.
    pub entries: u64,
}

/// What the cache holds for one key (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CachedTokenInfo {
    /// The credential kind (`ClientSecretCredential`, ...).
    pub credential: &'static str,
    /// The client or managed identity id.
    pub client_id: String,
    /// The tenant.
    pub tenant: String,
    /// The scopes, space separated.
    pub scopes: String,
    /// Expiry, seconds since the Unix epoch.
    pub expires_on: u64,
    /// Proactive refresh time, if any.
    pub refresh_on: Option<u64>,
}

/// Who a token belongs to: credential kind, authority, tenant, client or identity id, and a
/// fingerprint of the credential material (never the material itself).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SourceIdentity {
    kind: &'static str,
    authority: String,
    tenant: String,
    client_id: String,
    fingerprint: [u8; 32],
    hash: u64,
}

impl SourceIdentity {
    pub fn new(kind: &'static str, authority: &Authority, tenant: &str, client_id: &str, fingerprint: [u8; 32]) -> Arc<Self> {
        let authority = match authority {
            Authority::Entra { host, region } => format!("{host}|{}", region.as_ref().map_or("", |r| r.as_key())),
            Authority::Oidc { issuer } => issuer.to_string(),
        };
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (kind, &authority, tenant, client_id, fingerprint).hash(&mut h);
        Arc::new(SourceIdentity { kind, authority, tenant: tenant.to_owned(), client_id: client_id.to_owned(), fingerprint, hash: h.finish() })
    }
}

/// An uncached token fetcher.
pub(crate) trait TokenSource: Send + Sync + 'static {
    /// Who the tokens belong to.
    fn identity(&self) -> &Arc<SourceIdentity>;
    /// The tenant a request for `tenant_id` (None: the credential's own) goes to (part of the cache key).
    fn resolve_tenant<'a>(&'a self, tenant_id: Option<&'a str>) -> Result<&'a str>;
    /// Fetches a new token.
    fn fetch(&self, request: &TokenRequest) -> impl Future<Output = Result<TokenResponse>> + Send;
}

/// A borrowed view of a key: what lookups hash and compare, without allocating.
#[derive(Clone, Copy)]
struct KeyView<'a> {
    identity: &'a SourceIdentity,
    /// `None` for the credential's own tenant.
    tenant: Option<&'a str>,
    /// One scope, or several sorted, de-duplicated and joined by spaces.
    scopes: &'a str,
    cae: bool,
}

impl Hash for KeyView<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.identity.hash);
        if let Some(t) = self.tenant {
            state.write(t.as_bytes());
        }
        state.write_u8(0xff);
        state.write(self.scopes.as_bytes());
        state.write_u8(u8::from(self.cae));
    }
}

/// An owned key, kept in the token it belongs to.
// `repr(C)`: what a hit compares (identity, lengths, the start of the text) sits right after
// the token's reference count and expiry.
#[derive(Clone)]
#[repr(C)]
pub(crate) struct Key {
    identity: Arc<SourceIdentity>,
    /// Where the scopes start in `text`; 0 for the identity's own tenant.
    tenant_len: u32,
    cae: bool,
    /// The tenant (when not the identity's own) followed by the scopes.
    text: KeyText,
}

/// Bytes of key text kept inside the token's allocation; longer keys go to the heap. One scope
/// such as `https://graph.microsoft.com/.default` (36 bytes) fits.
const INLINE_KEY_BYTES: usize = 54;

/// Key text inline when short (the usual case), so a hit compares it without another pointer
/// hop to memory the CPU caches no longer hold when many tokens are cached.
#[derive(Clone)]
enum KeyText {
    Inline { len: u8, bytes: [u8; INLINE_KEY_BYTES] },
    Heap(Box<str>),
}

impl KeyText {
    fn new(parts: [&str; 2]) -> KeyText {
        let len = parts[0].len() + parts[1].len();
        if len > INLINE_KEY_BYTES {
            return KeyText::Heap(parts.concat().into_boxed_str());
        }
        let mut bytes = [0; INLINE_KEY_BYTES];
        bytes[..parts[0].len()].copy_from_slice(parts[0].as_bytes());
        bytes[parts[0].len()..len].copy_from_slice(parts[1].as_bytes());
        KeyText::Inline { len: len as u8, bytes }
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            KeyText::Inline { len, bytes } => &bytes[..usize::from(*len)],
            KeyText::Heap(text) => text.as_bytes(),
        }
    }
}

impl Key {
    fn new(identity: Arc<SourceIdentity>, view: &KeyView<'_>) -> Key {
        let tenant = view.tenant.unwrap_or("");
        // Tenant ids and domain names are far below 4 GiB; saturating keeps a silly one harmless
        // (the key would just never match, so it would never be served).
        let tenant_len = u32::try_from(tenant.len()).unwrap_or(u32::MAX);
        Key { identity, tenant_len, cae: view.cae, text: KeyText::new([tenant, view.scopes]) }
    }

    /// The tenant and scope bytes.
    fn split(&self) -> (&[u8], &[u8]) {
        let text = self.text.as_bytes();
        text.split_at((self.tenant_len as usize).min(text.len()))
    }

    fn view(&self) -> KeyView<'_> {
        let (tenant, scopes) = self.split();
        // Both halves were copied from `str`s at a char boundary, so this never falls back.
        let (tenant, scopes) = (std::str::from_utf8(tenant).unwrap_or(""), std::str::from_utf8(scopes).unwrap_or(""));
        KeyView { identity: &self.identity, tenant: (!tenant.is_empty()).then_some(tenant), scopes, cae: self.cae }
    }

    /// Compares bytes, not `str`s, so a hit never re-validates UTF-8.
    fn matches(&self, v: &KeyView<'_>) -> bool {
        let (tenant, scopes) = self.split();
        self.cae == v.cae
            && bytes_eq(scopes, v.scopes.as_bytes())
            && bytes_eq(tenant, v.tenant.unwrap_or("").as_bytes())
            && (std::ptr::eq(&*self.identity, v.identity) || *self.identity == *v.identity)
    }
}

/// Slice equality that never calls `memcmp` for empty slices: glibc's AVX-512 `memcmp` on the
/// dangling pointer of an empty slice took ~70 ns per call on this AMD machine (profiled).
fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && (a.is_empty() || a == b)
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.view().hash(state);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.matches(&other.view())
    }
}

impl Eq for Key {}

/// The cache's bookkeeping, stored inside each [`AccessToken`] so that a cached token is one
/// allocation. Tokens made outside the cache have no key.
#[derive(Default)]
#[repr(C)]
pub(crate) struct EntryState {
    key: Option<Key>,
    /// The CLOCK reference bit.
    referenced: AtomicBool,
    /// A background refresh of this token is running.
    refreshing: AtomicBool,
    /// After a failed refresh, the next refresh waits until this time.
    retry_refresh_at: AtomicU64,
}

impl EntryState {
    pub(crate) fn keyed(key: Key) -> Self {
        EntryState { key: Some(key), ..EntryState::default() }
    }
}

fn key_of(token: &AccessToken) -> Option<&Key> {
    token.entry().key.as_ref()
}

#[derive(Default)]
struct ShardState {
    table: HashTable<AccessToken>,
    /// The CLOCK hand: a bucket index of `table`.
    hand: usize,
}

type SharedFetch = Shared<BoxFuture<'static, Result<AccessToken>>>;

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    fetches: AtomicU64,
    refreshes: AtomicU64,
    refresh_failures: AtomicU64,
    evictions: AtomicU64,
    uncacheable: AtomicU64,
}

// Aligned so that shards' locks and counters do not share cache lines between threads.
#[repr(align(128))]
#[derive(Default)]
struct Shard {
    state: RwLock<ShardState>,
    inflight: Mutex<HashMap<Key, SharedFetch>>,
    counters: Counters,
}

enum Lookup {
    Hit(AccessToken),
    RefreshDue(AccessToken),
    Miss,
}

/// A bounded, sharded, single-flight token cache. One process-wide instance
/// ([`TokenCache::global`]) serves every credential unless a credential is given its own.
///
/// ```
/// use entra_token::{CacheOptions, TokenCache};
/// let cache = TokenCache::new(CacheOptions { max_entries: 10_000, ..CacheOptions::default() });
/// assert_eq!(cache.stats().entries, 0);
/// ```
pub struct TokenCache {
    shards: Box<[Shard]>,
    shard_mask: usize,
    max_entries: usize,
    /// Entries in all shards: the bound is global, so uneven shards never evict early.
    len: std::sync::atomic::AtomicUsize,
    skew: u64,
    retry_delay: u64,
    hasher: hashbrown::DefaultHashBuilder,
    /// The process these in-flight fetches belong to; a forked child must not wait on them.
    owner_pid: std::sync::atomic::AtomicU32,
}

impl TokenCache {
    /// A new, empty cache.
    pub fn new(options: CacheOptions) -> Self {
        let max = options.max_entries.max(1);
        // Up to 64 shards, each holding about 64 entries or more at the bound, so that LRU order
        // means something within a shard.
        let wanted = (max / 64).max(1);
        let shard_count = 64usize.min(if wanted.is_power_of_two() { wanted } else { wanted.next_power_of_two() / 2 });
        TokenCache {
            shards: (0..shard_count).map(|_| Shard::default()).collect(),
            shard_mask: shard_count - 1,
            max_entries: max,
            len: std::sync::atomic::AtomicUsize::new(0),
            skew: options.expiry_skew.as_secs(),
            retry_delay: options.refresh_retry_delay.as_secs(),
            hasher: hashbrown::DefaultHashBuilder::default(),
            owner_pid: std::sync::atomic::AtomicU32::new(std::process::id()),
        }
    }

    /// The process-wide cache with default options.
    pub fn global() -> Arc<TokenCache> {
        static GLOBAL: OnceLock<Arc<TokenCache>> = OnceLock::new();
        GLOBAL.get_or_init(|| Arc::new(TokenCache::new(CacheOptions::default()))).clone()
    }

    fn shard_index(&self, hash: u64) -> usize {
        // The table uses the low and top bits; pick the shard from the middle ones.
        (hash >> 32) as usize & self.shard_mask
    }

    fn shard(&self, hash: u64) -> &Shard {
        &self.shards[self.shard_index(hash)]
    }

    /// `fast`: the synchronous path that bindings try first. It counts only its hits, because a
    /// miss (or a due refresh) sends the caller down the async path, which counts it once.
    fn lookup(&self, key: &KeyView<'_>, now: u64, fast: bool) -> Lookup {
        let hash = self.hasher.hash_one(key);
        let shard = self.shard(hash);
        let found = {
            let state = shard.state.read().unwrap_or_else(|p| p.into_inner());
            state.table.find(hash, |t| key_of(t).is_some_and(|k| k.matches(key))).map(|token| {
                // Read before writing, so hits on a hot token do not bounce its cache line.
                let bit = &token.entry().referenced;
                if !bit.load(Relaxed) {
                    bit.store(true, Relaxed);
                }
                token.clone()
            })
        };
        let result = match found {
            Some(token) if now + self.skew < token.expires_on() => {
                let due = token.refresh_on().is_some_and(|r| now >= r) && now >= token.entry().retry_refresh_at.load(Relaxed);
                if due { Lookup::RefreshDue(token) } else { Lookup::Hit(token) }
            }
            _ => Lookup::Miss,
        };
        match (&result, fast) {
            (Lookup::Hit(_), _) | (Lookup::RefreshDue(..), false) => shard.counters.hits.fetch_add(1, Relaxed),
            (Lookup::Miss, false) => shard.counters.misses.fetch_add(1, Relaxed),
            _ => 0,
        };
        result
    }

    /// Stores a fetched token (which carries its key) unless it is too short-lived to be worth caching.
    fn store(&self, token: &AccessToken, now: u64) {
        let Some(key) = key_of(token) else { return };
        let hash = self.hasher.hash_one(key.view());
        let shard = self.shard(hash);
        if token.expires_on() <= now + self.skew {
            shard.counters.uncacheable.fetch_add(1, Relaxed);
            tracing::warn!(
                credential = key.identity.kind,
                lifetime_secs = token.expires_on().saturating_sub(now),
                skew_secs = self.skew,
                "the token lives shorter than the expiry skew; it is returned but not cached"
            );
            return;
        }
        let mut guard = shard.state.write().unwrap_or_else(|p| p.into_inner());
        let state = &mut *guard;
        if let Some(cached) = state.table.find_mut(hash, |t| key_of(t).is_some_and(|k| k == key)) {
            token.entry().referenced.store(true, Relaxed);
            *cached = token.clone();
            return;
        }
        // A new entry starts referenced, so the sweep below cannot take it straight away.
        token.entry().referenced.store(true, Relaxed);
        state.table.insert_unique(hash, token.clone(), |t| key_of(t).map_or(0, |k| self.hasher.hash_one(k.view())));
        let total = self.len.fetch_add(1, Relaxed) + 1;
        drop(guard);
        if total > self.max_entries {
            self.evict_to_bound(self.shard_index(hash), now);
        }
    }

    /// Evicts until the global bound holds again, starting with the shard that just grew (one
    /// lock at a time, never nested).
    fn evict_to_bound(&self, first: usize, now: u64) {
        let count = self.shards.len();
        while self.len.load(Relaxed) > self.max_entries {
            let evicted = (0..count).map(|i| &self.shards[(first + i) % count]).any(|shard| {
                let mut state = shard.state.write().unwrap_or_else(|p| p.into_inner());
                !state.table.is_empty() && self.evict_one(&mut state, now, &shard.counters)
            });
            if !evicted {
                return;
            }
        }
    }

    /// CLOCK: sweep the buckets from the hand, clearing reference bits, and evict the first token
    /// that is expired or was not used since the last sweep.
    fn evict_one(&self, state: &mut ShardState, now: u64, counters: &Counters) -> bool {
        let n = state.table.num_buckets();
        for _ in 0..2 * n + 1 {
            let i = state.hand % n;
            state.hand = (i + 1) % n;
            let Some(token) = state.table.get_bucket(i) else { continue };
            let expired = token.expires_on() <= now + self.skew;
            if !expired && token.entry().referenced.swap(false, Relaxed) {
                continue;
            }
            if let Ok(found) = state.table.get_bucket_entry(i) {
                found.remove();
            }
            self.len.fetch_sub(1, Relaxed);
            counters.evictions.fetch_add(1, Relaxed);
            return true;
        }
        false
    }

    /// Shares one fetch among every concurrent caller for `key`.
    /// After `fork()` the child inherits the parent's in-flight fetches, whose I/O lives on the
    /// parent's runtime and will never finish here: drop them (finished tokens stay cached).
    fn forget_parent_flights(&self) {
        let pid = std::process::id();
        let owner = self.owner_pid.load(Relaxed);
        if owner != pid && self.owner_pid.compare_exchange(owner, pid, Relaxed, Relaxed).is_ok() && owner != 0 {
            for shard in self.shards.iter() {
                shard.inflight.lock().unwrap_or_else(|p| p.into_inner()).clear();
            }
            let mut cleared = 0;
            for shard in self.shards.iter() {
                let state = shard.state.read().unwrap_or_else(|p| p.into_inner());
                for token in state.table.iter() {
                    cleared += usize::from(token.entry().refreshing.swap(false, Relaxed));
                }
            }
            tracing::debug!(cleared, "forked: forgot the parent's in-flight token requests");
        }
    }

    async fn single_flight(&self, key: Key, start: impl FnOnce() -> BoxFuture<'static, Result<AccessToken>>) -> Result<AccessToken> {
        self.forget_parent_flights();
        let hash = self.hasher.hash_one(key.view());
        let shard = self.shard(hash);
        let flight = {
            let mut inflight = shard.inflight.lock().unwrap_or_else(|p| p.into_inner());
            match inflight.get(&key) {
                Some(f) => f.clone(),
                None => {
                    let f = start().shared();
                    inflight.insert(key.clone(), f.clone());
                    f
                }
            }
        };
        let result = flight.clone().await;
        let mut inflight = shard.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if inflight.get(&key).is_some_and(|f| f.ptr_eq(&flight)) {
            inflight.remove(&key);
        }
        result
    }

    fn count_fetch(&self, key: &Key) {
        self.shard(self.hasher.hash_one(key.view())).counters.fetches.fetch_add(1, Relaxed);
    }

    /// The counters, summed over the shards.
    pub fn stats(&self) -> CacheStats {
        let mut s = CacheStats::default();
        for shard in self.shards.iter() {
            let c = &shard.counters;
            s.hits += c.hits.load(Relaxed);
            s.misses += c.misses.load(Relaxed);
            s.fetches += c.fetches.load(Relaxed);
            s.refreshes += c.refreshes.load(Relaxed);
            s.refresh_failures += c.refresh_failures.load(Relaxed);
            s.evictions += c.evictions.load(Relaxed);
            s.uncacheable += c.uncacheable.load(Relaxed);
            s.entries += shard.state.read().unwrap_or_else(|p| p.into_inner()).table.len() as u64;
        }
        s
    }

    /// What is cached (never the tokens), for diagnostics such as `entra-token doctor`.
    pub fn entries(&self) -> Vec<CachedTokenInfo> {
        let mut out = Vec::new();
        for shard in self.shards.iter() {
            let state = shard.state.read().unwrap_or_else(|p| p.into_inner());
            for token in state.table.iter() {
                let Some(key) = key_of(token) else { continue };
                let view = key.view();
                out.push(CachedTokenInfo {
                    credential: key.identity.kind,
                    client_id: key.identity.client_id.clone(),
                    tenant: view.tenant.unwrap_or(&key.identity.tenant).to_owned(),
                    scopes: view.scopes.to_owned(),
                    expires_on: token.expires_on(),
                    refresh_on: token.refresh_on(),
                });
            }
        }
        out
    }

    /// Forgets every token.
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            let mut state = shard.state.write().unwrap_or_else(|p| p.into_inner());
            self.len.fetch_sub(state.table.len(), Relaxed);
            *state = ShardState::default();
        }
    }
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache").field("shards", &self.shards.len()).field("stats", &self.stats()).finish()
    }
}

/// A token source behind the cache.
pub(crate) struct CachedSource<S> {
    source: Arc<S>,
    clock: Arc<dyn Clock>,
    cache: Arc<TokenCache>,
}

impl<S: TokenSource> CachedSource<S> {
    pub fn new(source: S, clock: Arc<dyn Clock>, cache: Arc<TokenCache>) -> Self {
        CachedSource { source: Arc::new(source), clock, cache }
    }

    pub fn source(&self) -> &S {
        &self.source
    }

    fn view<'a>(&'a self, cae: bool, tenant: &'a str, scopes: &'a str) -> KeyView<'a> {
        let identity = &**self.source.identity();
        let tenant = (!tenant.eq_ignore_ascii_case(&identity.tenant)).then_some(tenant);
        KeyView { identity, tenant, scopes, cae }
    }

    /// A valid cached token, without I/O. `None` also when a refresh is due, so the caller takes
    /// the async path that starts it.
    pub fn lookup(&self, query: &impl CacheQuery) -> Option<AccessToken> {
        if query.skips_cache() {
            return None;
        }
        let tenant = self.source.resolve_tenant(query.query_tenant()).ok()?;
        let scopes = query.normalised_scopes();
        match self.cache.lookup(&self.view(query.query_cae(), tenant, &scopes), self.clock.now(), true) {
            Lookup::Hit(token) => Some(token),
            _ => None,
        }
    }

    /// A token from the cache, or fetched (once for all concurrent callers of the same key).
    pub async fn get_token(&self, request: &TokenRequest) -> Result<AccessToken> {
        // The hit is decided synchronously; only a miss builds (and boxes) the fetch's state
        // machine, so a hit's future stays a few words and costs no allocation.
        match self.cached_or_fetch(request)? {
            Ok(token) => Ok(token),
            Err(fetch) => fetch.await,
        }
    }

    /// A cached token, or the future that fetches one.
    fn cached_or_fetch(&self, request: &TokenRequest) -> Result<Result<AccessToken, BoxFuture<'static, Result<AccessToken>>>> {
        let tenant = self.source.resolve_tenant(request.tenant_id())?;
        let scopes = request.normalised_scopes();
        let view = self.view(request.cae(), tenant, &scopes);
        let key = |v: KeyView<'_>| Key::new(self.source.identity().clone(), &v);
        // Cloned only on the way to a fetch: a hit touches no reference count but the token's.
        let owned = || (self.source.clone(), self.cache.clone(), self.clock.clone());
        // A claims challenge or a forced refresh never reads the cache; its token replaces the cached one.
        if request.force_refresh() || request.claims().is_some() {
            let (source, cache, clock) = owned();
            return Ok(Err(fetch_and_store(source, cache, clock, key(view), request.clone()).boxed()));
        }
        let now = self.clock.now();
        Ok(match self.cache.lookup(&view, now, false) {
            Lookup::Hit(token) => Ok(token),
            Lookup::RefreshDue(token) => {
                if token.entry().refreshing.compare_exchange(false, true, Relaxed, Relaxed).is_ok() {
                    self.spawn_refresh(key(view), request.clone(), token.clone());
                }
                Ok(token)
            }
            Lookup::Miss => {
                let (source, cache, clock) = owned();
                let owned = key(view);
                let request = request.clone();
                Err(async move {
                    let flight_key = owned.clone();
                    let shared = cache.clone();
                    shared.single_flight(flight_key, move || fetch_and_store(source, cache, clock, owned, request).boxed()).await
                }
                .boxed())
            }
        })
    }

    fn spawn_refresh(&self, key: Key, request: TokenRequest, old: AccessToken) {
        let (source, cache, clock, flag) = (self.source.clone(), self.cache.clone(), self.clock.clone(), old.clone());
        let refresh = async move {
            let shard_counters = &cache.shard(cache.hasher.hash_one(key.view())).counters;
            match fetch_and_store(source, cache.clone(), clock.clone(), key.clone(), request).await {
                Ok(_) => {
                    shard_counters.refreshes.fetch_add(1, Relaxed);
                }
                Err(e) => {
                    shard_counters.refresh_failures.fetch_add(1, Relaxed);
                    old.entry().retry_refresh_at.store(clock.now() + cache.retry_delay, Relaxed);
                    tracing::warn!(credential = key.identity.kind, error = %e, "background token refresh failed; the cached token stays in use");
                }
            }
            old.entry().refreshing.store(false, Relaxed);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(refresh);
            }
            // No runtime to run it on: leave the flag clear so a later async call refreshes.
            Err(_) => flag.entry().refreshing.store(false, Relaxed),
        }
    }
}

async fn fetch_and_store<S: TokenSource>(source: Arc<S>, cache: Arc<TokenCache>, clock: Arc<dyn Clock>, key: Key, request: TokenRequest) -> Result<AccessToken, Error> {
    cache.count_fetch(&key);
    let token = source.fetch(&request).await?.into_cached_token(key);
    cache.store(&token, clock.now());
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::secret::Secret;
    use std::sync::atomic::AtomicUsize;

    /// An in-memory source for the data-structure tests (behaviour over HTTP is tested in core/tests).
    struct CountingSource {
        identity: Arc<SourceIdentity>,
        clock: Arc<ManualClock>,
        lifetime: u64,
        calls: AtomicUsize,
    }

    impl TokenSource for CountingSource {
        fn identity(&self) -> &Arc<SourceIdentity> {
            &self.identity
        }
        fn resolve_tenant<'a>(&'a self, tenant_id: Option<&'a str>) -> Result<&'a str> {
            Ok(tenant_id.unwrap_or("tenant"))
        }
        async fn fetch(&self, request: &TokenRequest) -> Result<TokenResponse> {
            let n = self.calls.fetch_add(1, Relaxed);
            Ok(TokenResponse {
                token: Secret::new(format!("token-{n}-{}", request.scopes().join(","))),
                expires_on: self.clock.now() + self.lifetime,
                refresh_on: None,
                token_type: "Bearer".into(),
                body: serde_json::Value::Null,
            })
        }
    }

    fn cached(max_entries: usize, secret: &[u8]) -> (CachedSource<CountingSource>, Arc<TokenCache>, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(1_700_000_000));
        let cache = Arc::new(TokenCache::new(CacheOptions { max_entries, ..CacheOptions::default() }));
        let identity = SourceIdentity::new("Test", &Authority::public(), "tenant", "client", crate::credential::fingerprint(secret));
        let source = CountingSource { identity, clock: clock.clone(), lifetime: 3600, calls: AtomicUsize::new(0) };
        (CachedSource::new(source, clock.clone(), cache.clone()), cache, clock)
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    #[test]
    fn eviction_keeps_the_bound_under_a_million_distinct_scopes() {
        let (cred, cache, _) = cached(1_000, b"s");
        block_on(async {
            for i in 0..1_000_000u32 {
                cred.get_token(&TokenRequest::new([format!("api://r{i}/.default")])).await.unwrap();
            }
        });
        let stats = cache.stats();
        assert_eq!(stats.entries, 1_000, "the bound holds and the cache stays full: {stats:?}");
        assert_eq!(stats.evictions, 1_000_000 - stats.entries);
        assert_eq!(stats.misses, 1_000_000);
        assert_eq!(stats.fetches, 1_000_000);
    }

    #[test]
    fn the_bound_is_global_so_uneven_shards_do_not_evict_early() {
        // 10,000 entries over 64 shards: some shards hold well above 10,000 / 64.
        let (cred, cache, _) = cached(10_000, b"s");
        block_on(async {
            for i in 0..10_000u32 {
                cred.get_token(&TokenRequest::new([format!("api://r{i}/.default")])).await.unwrap();
            }
            let full = cache.stats();
            assert_eq!((full.entries, full.evictions), (10_000, 0), "{full:?}");
            cred.get_token(&TokenRequest::new(["api://one-more/.default"])).await.unwrap();
        });
        let stats = cache.stats();
        assert_eq!((stats.entries, stats.evictions), (10_000, 1), "{stats:?}");
        cache.clear();
        assert_eq!(cache.stats().entries, 0);
        block_on(cred.get_token(&TokenRequest::new(["api://after-clear/.default"]))).unwrap();
        assert_eq!(cache.stats().evictions, 1, "clear() resets the count the bound is checked against");
    }

    #[test]
    fn recently_used_entries_survive_eviction() {
        let (cred, cache, _) = cached(64, b"s");
        block_on(async {
            let hot = TokenRequest::new(["api://hot/.default"]);
            cred.get_token(&hot).await.unwrap();
            for i in 0..10_000u32 {
                cred.get_token(&TokenRequest::new([format!("api://cold{i}/.default")])).await.unwrap();
                assert!(cred.lookup(&hot).is_some(), "the hot entry was evicted after {i} inserts");
            }
        });
        assert!(cache.stats().entries <= 64);
    }

    #[test]
    fn counters_add_up() {
        let (cred, cache, clock) = cached(100, b"s");
        block_on(async {
            let r = TokenRequest::new(["api://a/.default"]);
            cred.get_token(&r).await.unwrap(); // miss + fetch
            cred.get_token(&r).await.unwrap(); // hit
            assert!(cred.lookup(&r).is_some()); // hit
            cred.get_token(&r.clone().with_force_refresh(true)).await.unwrap(); // fetch, no lookup
            clock.advance(3600); // expired
            cred.get_token(&r).await.unwrap(); // miss + fetch
        });
        let s = cache.stats();
        assert_eq!((s.hits, s.misses, s.fetches, s.entries), (2, 2, 3, 1), "{s:?}");
        assert_eq!(cache.entries()[0].scopes, "api://a/.default");
    }

    #[test]
    fn scopes_are_normalised_and_cae_is_part_of_the_key() {
        let (cred, cache, _) = cached(100, b"s");
        block_on(async {
            let a = cred.get_token(&TokenRequest::new(["b", "a", "b"])).await.unwrap();
            let b = cred.get_token(&TokenRequest::new(["a", "b"])).await.unwrap();
            assert!(a.same_instance(&b));
            let c = cred.get_token(&TokenRequest::new(["a", "b"]).with_cae(true)).await.unwrap();
            assert!(!a.same_instance(&c));
        });
        assert_eq!(cache.stats().fetches, 2);
    }

    #[test]
    fn keys_inline_and_on_the_heap_hit_and_stay_apart() {
        let (cred, cache, _) = cached(100, b"s");
        // Around the inline limit, and far beyond it.
        let scopes: Vec<String> = [INLINE_KEY_BYTES - 1, INLINE_KEY_BYTES, INLINE_KEY_BYTES + 1, 300].iter().map(|&n| "s".repeat(n)).collect();
        block_on(async {
            let requests: Vec<TokenRequest> = scopes.iter().map(|s| TokenRequest::new([s.as_str()])).collect();
            let tokens = futures_util::future::try_join_all(requests.iter().map(|r| cred.get_token(r))).await.unwrap();
            for (scope, token) in scopes.iter().zip(&tokens) {
                assert!(cred.lookup(&TokenRequest::new([scope.as_str()])).unwrap().same_instance(token), "{} bytes", scope.len());
            }
        });
        assert_eq!(cache.stats().fetches, 4);
        let mut listed: Vec<usize> = cache.entries().iter().map(|e| e.scopes.len()).collect();
        listed.sort_unstable();
        assert_eq!(listed, [INLINE_KEY_BYTES - 1, INLINE_KEY_BYTES, INLINE_KEY_BYTES + 1, 300]);
    }

    #[test]
    fn the_tenant_scope_boundary_is_part_of_the_key() {
        let (cred, cache, _) = cached(100, b"s");
        block_on(async {
            let a = cred.get_token(&TokenRequest::new(["c"]).with_tenant("ab")).await.unwrap();
            let b = cred.get_token(&TokenRequest::new(["bc"]).with_tenant("a")).await.unwrap();
            assert!(!a.same_instance(&b));
            assert!(cred.lookup(&TokenRequest::new(["c"]).with_tenant("ab")).unwrap().same_instance(&a));
        });
        assert_eq!(cache.stats().fetches, 2);
        let mut tenants: Vec<String> = cache.entries().into_iter().map(|e| format!("{}|{}", e.tenant, e.scopes)).collect();
        tenants.sort();
        assert_eq!(tenants, ["ab|c", "a|bc"]);
    }

    #[test]
    fn a_hit_returns_the_same_token_instance() {
        let (cred, _, _) = cached(100, b"s");
        block_on(async {
            let r = TokenRequest::new(["api://a/.default"]);
            let first = cred.get_token(&r).await.unwrap();
            assert!(cred.lookup(&r).unwrap().same_instance(&first));
        });
    }
}
