//! The similarity measures by name: [`Similarity`], with its canonical names.
//!
//! Contract: a leaf module (it uses nothing else in the crate), so that both the errors
//! ([`crate::error::MetricError::ZeroNorm`] names the similarity) and the computation
//! ([`crate::similarity`]) can depend on it. Parsing a name (`FromStr`) reports a
//! [`crate::error::MetricError`] and therefore lives in [`crate::similarity`].

use std::fmt;

/// A similarity between two profiles; larger means more alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Similarity {
    /// `a·b / (|a| |b|)`.
    Cosine,
    /// Cosine of the row-centered profiles (each row minus its own mean).
    Pearson,
    /// `|cosine|`: anti-correlated profiles count as alike.
    AbsCosine,
    /// `1 / (1 + |a − b|)`, in `(0, 1]`.
    Euclidean,
}

impl Similarity {
    /// Every similarity, in declaration order.
    pub const ALL: [Similarity; 4] = [
        Similarity::Cosine,
        Similarity::Pearson,
        Similarity::AbsCosine,
        Similarity::Euclidean,
    ];

    /// The canonical name used in configuration files and results.
    pub fn name(self) -> &'static str {
        match self {
            Similarity::Cosine => "cosine",
            Similarity::Pearson => "pearson",
            Similarity::AbsCosine => "abs-cosine",
            Similarity::Euclidean => "euclidean",
        }
    }
}

impl fmt::Display for Similarity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}
