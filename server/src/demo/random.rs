//! The demo's one source of randomness and the few distributions it needs, written out
//! here so the output depends only on the seed and the `rand_chacha` stream (no
//! distribution crate whose algorithms could change under us).

use rand::Rng;
pub use rand::{RngCore, SeedableRng};
pub use rand_chacha::ChaCha8Rng as DemoRng;

/// One of `items`, uniformly.
pub fn pick<T: Copy>(rng: &mut DemoRng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// One of `table`'s values, with probability proportional to its weight.
pub fn weighted<T: Copy>(rng: &mut DemoRng, table: &[(T, u32)]) -> T {
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total);
    for &(value, weight) in table {
        if roll < weight {
            return value;
        }
        roll -= weight;
    }
    table[table.len() - 1].0
}

/// Uniform in `lo..=hi`.
pub fn between(rng: &mut DemoRng, lo: i64, hi: i64) -> i64 {
    rng.random_range(lo..=hi)
}

/// True with probability `p`.
pub fn chance(rng: &mut DemoRng, p: f64) -> bool {
    rng.random_bool(p)
}

/// A standard normal deviate (Box–Muller; one of the pair is enough here).
pub fn standard_normal(rng: &mut DemoRng) -> f64 {
    // 1 - [0, 1) is (0, 1]: the logarithm stays finite.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Log-normal with the given median: right-skewed like real service latencies.
pub fn lognormal(rng: &mut DemoRng, median: f64, sigma: f64) -> f64 {
    median * (sigma * standard_normal(rng)).exp()
}

/// `n` random decimal digits (leading zeros allowed).
pub fn digits(rng: &mut DemoRng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// A random UUID-shaped string (version 4 layout), from the seeded stream.
pub fn uuid(rng: &mut DemoRng) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lognormal_median_is_near_the_requested_one() {
        let mut rng = DemoRng::seed_from_u64(1);
        let mut xs: Vec<f64> = (0..20_000)
            .map(|_| lognormal(&mut rng, 350.0, 0.35))
            .collect();
        xs.sort_by(f64::total_cmp);
        let median = xs[xs.len() / 2];
        assert!((330.0..370.0).contains(&median), "median {median}");
        assert!(xs.iter().all(|x| x.is_finite() && *x > 0.0));
    }

    #[test]
    fn weighted_respects_weights() {
        let mut rng = DemoRng::seed_from_u64(2);
        let table = [('a', 9), ('b', 1), ('c', 0)];
        let picks: Vec<char> = (0..10_000).map(|_| weighted(&mut rng, &table)).collect();
        let b = picks.iter().filter(|&&c| c == 'b').count();
        assert!((800..1200).contains(&b), "{b}");
        assert!(!picks.contains(&'c'));
    }

    #[test]
    fn uuids_have_the_v4_shape() {
        let mut rng = DemoRng::seed_from_u64(3);
        let id = uuid(&mut rng);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(id, uuid(&mut rng));
    }
}
