//! Small deterministic random number generators, implemented in-crate so that every seeded
//! result of cpbench is reproducible across platforms, dependency upgrades and thread counts.
//!
//! - [`SplitMix64`] (Steele, Lea & Flood 2014) — expands a 64-bit key into a generator state,
//!   as the xoshiro authors recommend ([`mix64`] is its output function); it also draws the
//!   group-median nulls of `replicating` ([`SplitMix64::below`], and `k` distinct values by
//!   Floyd's algorithm) and synthetic data for tests and benches.
//! - [`Xoshiro256StarStar`] (Blackman & Vigna 2018) — cpbench's general-purpose stream, with
//!   [`Xoshiro256StarStar::below`] drawing unbiased integers by Lemire's multiply-and-reject.
//! - [`NumpyPcg64`] — numpy's `default_rng(seed)` (SeedSequence-seeded PCG64 XSL-RR), with the
//!   exact integer algorithms numpy uses for `Generator.integers` and for the shuffles of
//!   `Generator.permuted`. It exists only to reproduce copairs' null distributions bit for bit
//!   (see `retrieval::null`); cpbench's own mAP nulls use xoshiro256**.
//!
//! Each generator is checked against published test vectors (SplitMix64 and xoshiro256**) or
//! against values produced by numpy 2.4.6 (PCG64) in the tests below.

/// The SplitMix64 increment (the golden ratio in 64-bit fixed point).
const GOLDEN_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's output function: a bijective 64-bit mixer (`mix64(0) = 0xe220a8397b1dcdaf`
/// after one increment, i.e. `SplitMix64::new(0).next_u64()`).
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// SplitMix64: a 64-bit counter passed through [`mix64`]; used to seed other generators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose first output is `mix64(seed + GOLDEN_GAMMA)`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    /// The next 64-bit output.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix64(self.state)
    }

    /// Uniform in `0..m` (`m ≥ 1`), without modulo bias (Lemire's multiply-and-reject).
    pub fn below(&mut self, m: u64) -> u64 {
        let threshold = m.wrapping_neg() % m;
        loop {
            let prod = u128::from(self.next_u64()) * u128::from(m);
            if (prod as u64) >= threshold {
                return (prod >> 64) as u64;
            }
        }
    }

    /// A uniform value in the open interval (0, 1): the top 53 bits of the next output,
    /// centred in their cell so that 0 never occurs (its log is taken below).
    pub fn next_open01(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// A standard normal value (Box–Muller, cosine branch, two outputs per value), for
    /// synthetic data in benches and tests.
    pub fn standard_normal(&mut self) -> f64 {
        let (u, v) = (self.next_open01(), self.next_open01());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// `k` distinct values of `0..n` (`k ≤ n`), uniformly (Floyd's algorithm), in draw order.
pub(crate) fn sample_distinct(n: usize, k: usize, rng: &mut SplitMix64) -> Vec<usize> {
    let mut chosen: Vec<usize> = Vec::with_capacity(k);
    let mut seen = std::collections::HashSet::with_capacity(k);
    for j in n - k..n {
        let t = rng.below(j as u64 + 1) as usize;
        let pick = if seen.contains(&t) { j } else { t };
        seen.insert(pick);
        chosen.push(pick);
    }
    chosen
}

/// xoshiro256** 1.0: 256-bit state, period 2^256 − 1, fast and statistically strong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Xoshiro256StarStar {
    s: [u64; 4],
}

impl Xoshiro256StarStar {
    /// A generator with the given raw state; `None` for the all-zero state, which is a fixed point.
    pub fn from_state(s: [u64; 4]) -> Option<Xoshiro256StarStar> {
        (s != [0; 4]).then_some(Xoshiro256StarStar { s })
    }

    /// Seeds the state with four consecutive [`SplitMix64`] outputs from `key` (never all zero,
    /// because `mix64` is a bijection and four consecutive inputs differ).
    pub fn from_key(key: u64) -> Xoshiro256StarStar {
        let mut sm = SplitMix64::new(key);
        let s = [sm.next_u64(), sm.next_u64(), sm.next_u64(), sm.next_u64()];
        Xoshiro256StarStar { s }
    }

    /// The next 64-bit output.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A uniform integer in `0..n` (`n ≥ 1`), without bias: Lemire's multiply-shift with
    /// rejection of the `2^64 mod n` low products that would over-represent some values.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n >= 1, "below(0) has no valid output");
        let mut m = u128::from(self.next_u64()) * u128::from(n);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = u128::from(self.next_u64()) * u128::from(n);
            }
        }
        (m >> 64) as u64
    }
}

// ---------------------------------------------------------------------------------------------
// numpy's default_rng: SeedSequence → PCG64 (XSL-RR 128/64), numpy 1.17 – 2.x.
// ---------------------------------------------------------------------------------------------

const SS_INIT_A: u32 = 0x43b0_d7e5;
const SS_MULT_A: u32 = 0x931e_8875;
const SS_INIT_B: u32 = 0x8b51_f9dd;
const SS_MULT_B: u32 = 0x58f3_8ded;
const SS_MIX_MULT_L: u32 = 0xca01_f9dd;
const SS_MIX_MULT_R: u32 = 0x4973_f715;
const SS_POOL_SIZE: usize = 4;
const PCG_MULT: u128 = 0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645;

/// `numpy.random.SeedSequence(seed).generate_state(n_words, np.uint32)` for a non-negative
/// integer `seed` (no spawn key, default pool size 4).
pub fn numpy_seed_sequence(seed: u64, n_words: usize) -> Vec<u32> {
    // numpy splits an integer into little-endian 32-bit words; 0 is the single word [0].
    let entropy: Vec<u32> = if seed >> 32 == 0 {
        vec![seed as u32]
    } else {
        vec![seed as u32, (seed >> 32) as u32]
    };
    let mut hash_const = SS_INIT_A;
    let mut hashmix = |value: u32| -> u32 {
        let mut v = value ^ hash_const;
        hash_const = hash_const.wrapping_mul(SS_MULT_A);
        v = v.wrapping_mul(hash_const);
        v ^ (v >> 16)
    };
    let mix = |x: u32, y: u32| -> u32 {
        let r = SS_MIX_MULT_L
            .wrapping_mul(x)
            .wrapping_sub(SS_MIX_MULT_R.wrapping_mul(y));
        r ^ (r >> 16)
    };
    let mut pool = [0u32; SS_POOL_SIZE];
    for (i, slot) in pool.iter_mut().enumerate() {
        *slot = hashmix(entropy.get(i).copied().unwrap_or(0));
    }
    for src in 0..SS_POOL_SIZE {
        for dst in 0..SS_POOL_SIZE {
            if src != dst {
                let h = hashmix(pool[src]);
                pool[dst] = mix(pool[dst], h);
            }
        }
    }
    // Entropy longer than the pool (never, for ≤ 64-bit seeds and a pool of 4) would be mixed in
    // here; kept out deliberately since `seed` has at most two words.
    let mut hash_const = SS_INIT_B;
    (0..n_words)
        .map(|i| {
            let mut v = pool[i % SS_POOL_SIZE] ^ hash_const;
            hash_const = hash_const.wrapping_mul(SS_MULT_B);
            v = v.wrapping_mul(hash_const);
            v ^ (v >> 16)
        })
        .collect()
}

/// numpy's `np.random.default_rng(seed)` bit generator (PCG64), with numpy's 32-bit buffering
/// and the bounded-integer algorithms of `Generator.integers` and `Generator.permuted`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumpyPcg64 {
    state: u128,
    inc: u128,
    /// numpy hands out the two halves of one 64-bit output as consecutive 32-bit draws.
    buffered: Option<u32>,
}

impl NumpyPcg64 {
    /// The generator of `np.random.default_rng(seed)`.
    pub fn new(seed: u64) -> NumpyPcg64 {
        let w = numpy_seed_sequence(seed, 8);
        let word = |i: usize| u64::from(w[2 * i]) | (u64::from(w[2 * i + 1]) << 32);
        let init_state = (u128::from(word(0)) << 64) | u128::from(word(1));
        let init_seq = (u128::from(word(2)) << 64) | u128::from(word(3));
        let mut rng = NumpyPcg64 {
            state: 0,
            inc: (init_seq << 1) | 1,
            buffered: None,
        };
        rng.step();
        rng.state = rng.state.wrapping_add(init_state);
        rng.step();
        rng
    }

    #[inline]
    fn step(&mut self) {
        self.state = self.state.wrapping_mul(PCG_MULT).wrapping_add(self.inc);
    }

    /// The next 64-bit output (`bit_generator.random_raw()`).
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let s = self.state;
        let folded = ((s >> 64) as u64) ^ (s as u64);
        folded.rotate_right((s >> 122) as u32)
    }

    /// The next 32-bit output: the low half of a fresh 64-bit output, then its high half.
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        if let Some(v) = self.buffered.take() {
            return v;
        }
        let next = self.next_u64();
        self.buffered = Some((next >> 32) as u32);
        next as u32
    }

    /// `Generator.integers(high)` for `1 ≤ high ≤ 2^32` with the default `int64` dtype: numpy's
    /// Lemire rejection on 32-bit draws (`buffered_bounded_lemire_uint32`).
    pub fn integers_below(&mut self, high: u64) -> u64 {
        assert!(
            (1..=1 << 32).contains(&high),
            "integers_below needs 1 ≤ high ≤ 2^32"
        );
        let rng = (high - 1) as u32;
        if rng == 0 {
            return 0;
        }
        if rng == u32::MAX {
            return u64::from(self.next_u32());
        }
        let rng_excl = u64::from(rng) + 1;
        let mut m = u64::from(self.next_u32()) * rng_excl;
        let mut leftover = m as u32;
        if u64::from(leftover) < rng_excl {
            let threshold = ((u32::MAX - rng) as u64 % rng_excl) as u32;
            while leftover < threshold {
                m = u64::from(self.next_u32()) * rng_excl;
                leftover = m as u32;
            }
        }
        m >> 32
    }

    /// numpy's `random_interval(max)`: a uniform integer in `0..=max` by masked rejection, the
    /// draw behind every swap of `Generator.shuffle` / `Generator.permuted`.
    #[inline]
    pub fn interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mask = u64::MAX >> max.leading_zeros();
        if max <= u64::from(u32::MAX) {
            loop {
                let v = u64::from(self.next_u32()) & mask;
                if v <= max {
                    return v;
                }
            }
        } else {
            loop {
                let v = self.next_u64() & mask;
                if v <= max {
                    return v;
                }
            }
        }
    }

    /// Shuffles `data` in place exactly as numpy's `_shuffle_raw` (Fisher–Yates from the end,
    /// one [`interval`](Self::interval) draw per position `n−1 … 1`).
    pub fn shuffle<T>(&mut self, data: &mut [T]) {
        for i in (1..data.len()).rev() {
            let j = self.interval(i as u64) as usize;
            data.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_below_is_in_range_and_sampling_distinct() {
        let mut r = SplitMix64::new(3);
        for m in [1u64, 2, 3, 10, 1 << 40] {
            for _ in 0..1000 {
                assert!(r.below(m) < m);
            }
        }
        for (n, k) in [(5, 5), (10, 3), (100, 50)] {
            let mut s = sample_distinct(n, k, &mut r);
            s.sort_unstable();
            s.dedup();
            assert_eq!(s.len(), k);
            assert!(s.iter().all(|&v| v < n));
        }
        // Every value of 0..4 appears in 2-subsets roughly equally often.
        let mut counts = [0usize; 4];
        for _ in 0..40_000 {
            for v in sample_distinct(4, 2, &mut r) {
                counts[v] += 1;
            }
        }
        assert!(
            counts.iter().all(|&c| (19_000..21_000).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn standard_normal_has_unit_moments() {
        let mut g = SplitMix64::new(3);
        let n = 200_000;
        let v: Vec<f64> = (0..n).map(|_| g.standard_normal()).collect();
        let mean = v.iter().sum::<f64>() / n as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        // Standard errors: 1/sqrt(n) ≈ 0.0022 for the mean, sqrt(2/n) ≈ 0.0032 for the variance.
        assert!(mean.abs() < 0.011, "mean {mean}");
        assert!((var - 1.0).abs() < 0.016, "variance {var}");
        assert!((0..1000).all(|_| {
            let u = g.next_open01();
            u > 0.0 && u < 1.0
        }));
    }

    #[test]
    fn splitmix64_matches_published_outputs_for_seed_1234567() {
        // Rosetta Code, "Pseudo-random numbers/Splitmix64": first five outputs for 1234567.
        let mut rng = SplitMix64::new(1234567);
        let want = [
            6457827717110365317u64,
            3203168211198807973,
            9817491932198370423,
            4593380528125082431,
            16408922859458223821,
        ];
        for w in want {
            assert_eq!(rng.next_u64(), w);
        }
        assert_eq!(SplitMix64::new(0).next_u64(), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn xoshiro256starstar_matches_reference_outputs_from_state_1_2_3_4() {
        // The reference vector of rand_xoshiro's `xoshiro256starstar.rs`, produced with the
        // authors' xoshiro256starstar.c.
        let mut rng = Xoshiro256StarStar::from_state([1, 2, 3, 4]).unwrap();
        let want = [
            11520u64,
            0,
            1509978240,
            1215971899390074240,
            1216172134540287360,
            607988272756665600,
            16172922978634559625,
            8476171486693032832,
            10595114339597558777,
            2904607092377533576,
        ];
        for w in want {
            assert_eq!(rng.next_u64(), w);
        }
        assert!(Xoshiro256StarStar::from_state([0; 4]).is_none());
    }

    #[test]
    fn below_is_in_range_and_roughly_uniform() {
        let mut rng = Xoshiro256StarStar::from_key(7);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            counts[rng.below(7) as usize] += 1;
        }
        // Expected 10 000 each; 5 sd of a binomial(70 000, 1/7) is ≈ 463.
        for c in counts {
            assert!((9_500..=10_500).contains(&c), "{counts:?}");
        }
        assert_eq!(rng.below(1), 0);
        // A bound close to 2^64 exercises the rejection branch without hanging.
        let big = u64::MAX - 5;
        for _ in 0..1000 {
            assert!(rng.below(big) < big);
        }
    }

    #[test]
    fn numpy_pcg64_matches_numpy_random_raw() {
        // np.random.default_rng(12345).bit_generator.random_raw(3), numpy 2.4.6.
        let mut rng = NumpyPcg64::new(12345);
        assert_eq!(rng.next_u64(), 4193609425186963869);
        assert_eq!(rng.next_u64(), 5843160025838961886);
        assert_eq!(rng.next_u64(), 14708796524633321433);
        // A seed above 2^32 takes numpy's two-word entropy path.
        let mut rng = NumpyPcg64::new((1 << 40) + 5);
        assert_eq!(rng.next_u64(), 87427594128977387);
        assert_eq!(rng.next_u64(), 6872972437549564694);
    }

    #[test]
    fn numpy_integers_match_numpy() {
        // np.random.default_rng(s).integers(8096, size=3), numpy 2.4.6; seed 0 is also
        // `null_config_seeds` of tests/fixtures/copairs/cases.json ("5:29": 6886, "11:35": 5156).
        let cases: [(u64, [u64; 3]); 4] = [
            (0, [6886, 5156, 4138]),
            (1, [3830, 4143, 6113]),
            (7, [7649, 5060, 5539]),
            ((1 << 40) + 5, [114, 38, 3642]),
        ];
        for (seed, want) in cases {
            let mut rng = NumpyPcg64::new(seed);
            let got: Vec<u64> = (0..3).map(|_| rng.integers_below(8096)).collect();
            assert_eq!(got, want, "seed {seed}");
        }
    }

    #[test]
    fn numpy_shuffle_matches_generator_permuted() {
        // rng = np.random.default_rng(5156); x = np.tile(np.arange(12, dtype=np.uint16), (2, 1))
        // rng.permuted(x, axis=1, out=x)  → rows below (numpy 2.4.6).
        let mut rng = NumpyPcg64::new(5156);
        let want: [[u16; 12]; 2] = [
            [6, 4, 8, 0, 9, 10, 3, 2, 1, 7, 5, 11],
            [2, 9, 3, 6, 0, 7, 8, 11, 10, 5, 4, 1],
        ];
        for row in want {
            let mut x: Vec<u16> = (0..12).collect();
            rng.shuffle(&mut x);
            assert_eq!(x, row);
        }
    }
}
