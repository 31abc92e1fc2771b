//! The agent object's cache of its configuration (keys, rules, limits), apart from where it is
//! loaded from, so its rules are tested natively:
//!
//! - a cached copy is used for at most `ttl_ms` (a backstop: every admin change also
//!   invalidates it), and never when the clock went backwards;
//! - an invalidation wins over a load that was already under way: a load that started before it
//!   is used for its own request but not cached, so a revoked key cannot come back from a load
//!   that raced its revocation.

use std::rc::Rc;

/// Cached `T`, loaded at a time, guarded by a generation counter.
pub struct ConfigCache<T> {
    ttl_ms: i64,
    cached: Option<(Rc<T>, i64)>,
    generation: u64,
}

/// A load under way: hand it back to [`ConfigCache::finish_load`] with what was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    generation: u64,
    started_ms: i64,
}

impl<T> ConfigCache<T> {
    pub fn new(ttl_ms: i64) -> Self {
        ConfigCache { ttl_ms, cached: None, generation: 0 }
    }

    /// The cached copy, if it is fresh at `now_ms`.
    pub fn get(&self, now_ms: i64) -> Option<Rc<T>> {
        let (value, loaded_ms) = self.cached.as_ref()?;
        (now_ms >= *loaded_ms && now_ms - loaded_ms < self.ttl_ms).then(|| Rc::clone(value))
    }

    /// Marks the start of a load at `now_ms`.
    pub fn start_load(&self, now_ms: i64) -> Load {
        Load { generation: self.generation, started_ms: now_ms }
    }

    /// Caches what `load` loaded, unless an invalidation came since it started; returns it either
    /// way, for the request that loaded it.
    pub fn finish_load(&mut self, load: Load, value: T) -> Rc<T> {
        let value = Rc::new(value);
        if load.generation == self.generation {
            self.cached = Some((Rc::clone(&value), load.started_ms));
        }
        value
    }

    /// Drops the cached copy and any load under way from being cached.
    pub fn invalidate(&mut self) {
        self.generation += 1;
        self.cached = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loaded_copy_is_used_until_its_time_is_up() {
        let mut cache = ConfigCache::new(60_000);
        assert!(cache.get(0).is_none());
        let load = cache.start_load(1_000);
        cache.finish_load(load, "v1");
        assert_eq!(cache.get(1_000).as_deref(), Some(&"v1"));
        assert_eq!(cache.get(60_999).as_deref(), Some(&"v1"));
        assert!(cache.get(61_000).is_none(), "expired after the TTL");
    }

    #[test]
    fn a_clock_going_backwards_reloads() {
        let mut cache = ConfigCache::new(60_000);
        let load = cache.start_load(10_000);
        cache.finish_load(load, 1);
        assert!(cache.get(9_999).is_none());
    }

    #[test]
    fn an_invalidation_drops_the_copy() {
        let mut cache = ConfigCache::new(60_000);
        let load = cache.start_load(0);
        cache.finish_load(load, 1);
        cache.invalidate();
        assert!(cache.get(1).is_none());
    }

    #[test]
    fn a_load_that_raced_an_invalidation_is_used_once_but_not_cached() {
        let mut cache = ConfigCache::new(60_000);
        let stale = cache.start_load(0);
        // The admin change commits and invalidates while the old configuration is being read.
        cache.invalidate();
        let value = cache.finish_load(stale, "with the revoked key");
        assert_eq!(*value, "with the revoked key");
        assert!(cache.get(1).is_none(), "the next request reloads");
        let fresh = cache.start_load(2);
        cache.finish_load(fresh, "without it");
        assert_eq!(cache.get(3).as_deref(), Some(&"without it"));
    }
}
