//! The ranking of one security's colors (the spec's "Ranking"): `RANK` ascending, then
//! `COLOR_DATE` newest first, then `PRICE` in the rules document's order, each with missing
//! values last, then `ID` ascending so the order is total and the output deterministic.

use std::cmp::Ordering;

use crate::rules::PriceOrder;
use crate::values::Micros;

/// The values a color is ranked by, besides its `ID`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RankKey {
    /// `RANK`: source priority, 1 is best.
    pub rank: Option<i64>,
    /// `COLOR_DATE`.
    pub color_date: Option<Micros>,
    /// `PRICE`.
    pub price: Option<f64>,
}

/// Orders `a` before `b` when `a` ranks higher (comes first) within its security.
pub fn compare(
    (a, a_id): (&RankKey, &[u8]),
    (b, b_id): (&RankKey, &[u8]),
    price_order: PriceOrder,
) -> Ordering {
    missing_last(a.rank, b.rank, |a, b| a.cmp(&b))
        .then_with(|| missing_last(a.color_date, b.color_date, |a, b| b.cmp(&a)))
        .then_with(|| {
            missing_last(a.price, b.price, |a, b| match price_order {
                PriceOrder::Desc => b.total_cmp(&a),
                PriceOrder::Asc => a.total_cmp(&b),
            })
        })
        .then_with(|| a_id.cmp(b_id))
}

/// `present` between two values, any value before a missing one.
fn missing_last<T>(a: Option<T>, b: Option<T>, present: impl FnOnce(T, T) -> Ordering) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => present(a, b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Reverse;

    use super::*;
    use orabridge_shared::testkit::TestRng;

    /// A price that sorts as `f64::total_cmp` does, for the plain tuple sort below.
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct TotalF64(f64);
    impl Eq for TotalF64 {}
    impl PartialOrd for TotalF64 {
        fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for TotalF64 {
        fn cmp(&self, other: &Self) -> Ordering {
            self.0.total_cmp(&other.0)
        }
    }

    /// A value from a small domain, so that ties at every level are common; `None` a fifth of
    /// the time.
    fn sometimes<T>(rng: &mut TestRng, values: &[T]) -> Option<T>
    where
        T: Copy,
    {
        let roll = rng.below(values.len() as u64 + 1) as usize;
        values.get(roll).copied().filter(|_| rng.below(5) != 0)
    }

    #[test]
    fn the_comparator_sorts_as_a_plain_sort_on_the_spec_s_keys() {
        let mut rng = TestRng::new(0x0dde_5eed);
        let prices = [-1.5, -0.0, 0.0, 99.5, 101.0, 1e300];
        let dates = [
            -86_400_000_000,
            0,
            1_763_650_800_000_000,
            1_763_650_800_000_001,
        ];
        for case in 0..2_000 {
            let len = rng.below(12) as usize;
            let rows: Vec<(RankKey, String)> = (0..len)
                .map(|_| {
                    let key = RankKey {
                        rank: sometimes(&mut rng, &[-1, 1, 2, 3]),
                        color_date: sometimes(&mut rng, &dates),
                        price: sometimes(&mut rng, &prices),
                    };
                    (key, format!("C{}", rng.below(6)))
                })
                .collect();
            for order in [PriceOrder::Desc, PriceOrder::Asc] {
                let mut ranked = rows.clone();
                ranked
                    .sort_by(|a, b| compare((&a.0, a.1.as_bytes()), (&b.0, b.1.as_bytes()), order));
                // The spec, level by level: a missing value is `true` in its `is_none` column,
                // which sorts after `false`.
                let mut plain = rows.clone();
                plain.sort_by_key(|(key, id)| {
                    let price = key.price.map(TotalF64);
                    (
                        (key.rank.is_none(), key.rank),
                        (key.color_date.is_none(), key.color_date.map(Reverse)),
                        price.is_none(),
                        match order {
                            PriceOrder::Desc => (price.map(Reverse), None),
                            PriceOrder::Asc => (None, price),
                        },
                        id.clone(),
                    )
                });
                assert_eq!(ranked, plain, "case {case}, {order:?}");
            }
        }
    }

    #[test]
    fn missing_values_go_last_at_every_level() {
        let full = RankKey {
            rank: Some(9),
            color_date: Some(0),
            price: Some(0.0),
        };
        let compare_desc =
            |a: &RankKey, b: &RankKey| compare((a, b"B"), (b, b"A"), PriceOrder::Desc);
        for missing in [
            RankKey { rank: None, ..full },
            RankKey {
                color_date: None,
                ..full
            },
            RankKey {
                price: None,
                ..full
            },
        ] {
            assert_eq!(compare_desc(&full, &missing), Ordering::Less, "{missing:?}");
        }
        assert_eq!(
            compare_desc(&full, &full),
            Ordering::Greater,
            "then ID: B after A"
        );
    }
}
