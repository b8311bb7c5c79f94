//! The simulation's random source: splitmix64, seeded from the configuration, so that a seed
//! always yields the same history on every platform; its finaliser also derives stable tokens
//! from ids.

/// splitmix64: small, fast, and the same on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    /// A Poisson-ish count with mean `m` (integer part plus a coin for the fraction).
    pub fn count(&mut self, m: f64) -> u64 {
        let m = m.max(0.0);
        let base = m.floor();
        base as u64 + self.chance(m - base) as u64
    }
}

/// The splitmix64 finaliser, also used to derive stable tokens from ids.
pub fn mix(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
