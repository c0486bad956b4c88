//! Keeping a remembered map within its bound: the oldest entries beyond it go in one sort
//! (`O(n log n)` once), not one scan for the oldest per entry removed (`O(excess × n)`, which
//! an hour with tens of thousands of new entries made quadratic).

use std::collections::BTreeMap;

/// Remove the oldest entries of `map` (by `age`, ties by key) until at most `max` remain.
pub(crate) fn trim_oldest<V, A: Ord>(
    map: &mut BTreeMap<String, V>,
    max: usize,
    age: impl Fn(&V) -> A,
) {
    let excess = map.len().saturating_sub(max);
    if excess == 0 {
        return;
    }
    let mut by_age: Vec<(A, &String)> = map.iter().map(|(k, v)| (age(v), k)).collect();
    by_age.select_nth_unstable_by(excess - 1, |a, b| a.cmp(b));
    let gone: Vec<String> = by_age[..excess].iter().map(|(_, k)| (*k).clone()).collect();
    for k in gone {
        map.remove(&k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_go_first_and_ties_by_key() {
        let mut m: BTreeMap<String, i64> = [("a", 5), ("b", 1), ("c", 3), ("d", 1), ("e", 9)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        trim_oldest(&mut m, 3, |v| *v);
        assert_eq!(m.keys().collect::<Vec<_>>(), ["a", "c", "e"]);
        trim_oldest(&mut m, 2, |v| *v);
        assert_eq!(m.keys().collect::<Vec<_>>(), ["a", "e"]);
        trim_oldest(&mut m, 5, |v| *v);
        assert_eq!(m.len(), 2);
        trim_oldest(&mut m, 0, |v| *v);
        assert!(m.is_empty());
    }

    #[test]
    fn a_large_excess_is_one_sort() {
        let mut m: BTreeMap<String, i64> = (0..60_000i64)
            .map(|i| (format!("user-{i:06}"), i))
            .collect();
        trim_oldest(&mut m, 10_000, |v| *v);
        assert_eq!(m.len(), 10_000);
        assert_eq!(m.keys().next().map(String::as_str), Some("user-050000"));
    }
}
