//! Peer groups by traffic profile: entities are clustered by *what kind of workload* they are,
//! whatever their subnet, so a new instance of the app tier borrows the app tier's profile even
//! when it is launched in another subnet.
//!
//! Every entity gets a small feature vector from its [`Profile`] ([`features`]):
//!
//! | # | feature |
//! |---|---------|
//! | 0–3 | mean ln(1 + bytes out) per hour in each 6-hour block of the day (00–06, 06–12, …) |
//! | 4 | peak: the busiest hour of day's mean above the all-hours mean (a nightly job) |
//! | 5 | share of hours active since first seen |
//! | 6 | mean ln(1 + distinct remote addresses) per hour |
//! | 7 | mean ln(1 + distinct ports) per hour |
//! | 8 | share of bytes out sent to external (public) addresses |
//!
//! Features are standardized over the warm entities (with a floor on each spread, so a
//! feature every entity shares does not turn noise into structure) and clustered with
//! k-means ([`linfa_clustering::KMeans`], k-means++ seeding from a fixed seed). k is the
//! best mean silhouette over k = 2..=min(12, n/2); when no k reaches a silhouette of
//! [`MIN_SILHOUETTE`] the fleet is one workload kind (k = 1). Rows are ordered by entity id
//! and clusters are numbered by their first member in that order, so the same profiles give
//! the same groups whatever the input order. Fewer than [`MIN_ENTITIES`] warm entities build
//! no model (groups stay subnets).
//!
//! An entity not yet warm is placed in the nearest cluster (standardized Euclidean distance to
//! the cluster means) once it has [`MIN_HOURS_TO_ASSIGN`] hours, and again every hour until
//! the next reclustering includes it.

use linfa::DatasetBase;
use linfa::traits::Fit;
use linfa_clustering::KMeans;
use ndarray::Array2;
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::SeedableRng;
use serde::{Deserialize, Serialize};

use super::Profile;

/// Length of the feature vector.
pub const FEATURES: usize = 9;
/// Least warm entities to cluster.
pub const MIN_ENTITIES: usize = 4;
/// Hours an entity needs before it is placed in the nearest cluster.
pub const MIN_HOURS_TO_ASSIGN: u32 = 3;
/// Least mean silhouette for k > 1.
pub const MIN_SILHOUETTE: f64 = 0.25;
/// Least distance between two clusters' means, in units of `SCALE_FLOOR` (the silhouette
/// does not see scale: it would split a fleet of one kind along its noise).
pub const MIN_SEPARATION: f64 = 2.0;
/// Most clusters.
pub const MAX_K: usize = 12;
/// Event time between reclusterings.
pub const RECLUSTER_MS: i64 = 24 * 3_600_000;
/// Rows the silhouette is computed over at most (a fixed stride over the sorted rows).
const SILHOUETTE_SAMPLE: usize = 600;
/// Floor on each feature's spread when standardizing (in the feature's own units).
const SCALE_FLOOR: [f64; FEATURES] = [0.5, 0.5, 0.5, 0.5, 0.5, 0.05, 0.25, 0.25, 0.05];
const SEED: u64 = 0x666c_6f77_7472_6169; // "flowtrai"

/// The feature vector of a profile; NaN where the profile has nothing to say yet (state
/// from an older version, or no traffic at all).
pub fn features(p: &Profile) -> [f64; FEATURES] {
    let mut f = [f64::NAN; FEATURES];
    let all = (p.out_all.n > 0).then_some(p.out_all.mean as f64);
    for (b, slot) in f.iter_mut().take(4).enumerate() {
        let (sum, n) = p
            .out_by_hour
            .iter()
            .skip(b * 6)
            .take(6)
            .filter(|e| e.n > 0)
            .fold((0.0, 0u32), |(s, n), e| (s + e.mean as f64, n + 1));
        *slot = if n > 0 {
            sum / n as f64
        } else {
            all.unwrap_or(f64::NAN)
        };
    }
    let peak = p
        .out_by_hour
        .iter()
        .filter(|e| e.n > 0)
        .map(|e| e.mean as f64)
        .fold(f64::NEG_INFINITY, f64::max);
    if let Some(all) = all
        && peak.is_finite()
    {
        f[4] = (peak - all).max(0.0);
    }
    const H: i64 = 3_600_000;
    if p.last_ms >= p.first_ms && p.last_ms > 0 && p.hours > 0 {
        let span = (p.last_ms.div_euclid(H) - p.first_ms.div_euclid(H) + 1).max(1);
        f[5] = (p.hours as f64 / span as f64).min(1.0);
    }
    for (i, e) in [(6, &p.peers_ln), (7, &p.ports_ln), (8, &p.ext_share)] {
        if e.n > 0 {
            f[i] = e.mean as f64;
        }
    }
    f
}

/// A clustering of the warm entities: how to standardize features and the cluster means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupModel {
    /// Event time (hour start) the model was built at.
    pub built_ms: i64,
    /// Entities clustered.
    pub entities: usize,
    /// Mean silhouette of the chosen clustering (0 for k = 1).
    pub silhouette: f64,
    /// Feature means.
    pub mean: Vec<f64>,
    /// Feature spreads (floored).
    pub scale: Vec<f64>,
    /// Cluster means in standardized space, one row per cluster.
    pub centroids: Vec<Vec<f64>>,
}

impl GroupModel {
    /// Clusters.
    pub fn k(&self) -> usize {
        self.centroids.len()
    }

    /// Standardized features; missing ones at the mean (0).
    pub fn standardize(&self, f: &[f64; FEATURES]) -> [f64; FEATURES] {
        let mut z = [0.0; FEATURES];
        for (i, (zi, x)) in z.iter_mut().zip(f).enumerate() {
            let (m, s) = (
                self.mean.get(i).copied().unwrap_or(0.0),
                self.scale.get(i).copied().unwrap_or(1.0),
            );
            let v = (x - m) / s;
            *zi = if v.is_finite() { v } else { 0.0 };
        }
        z
    }

    /// The cluster nearest to the features (ties to the lower id).
    pub fn nearest(&self, f: &[f64; FEATURES]) -> Option<u32> {
        let z = self.standardize(f);
        nearest(&self.centroids, &z).map(|i| i as u32)
    }
}

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn nearest(centroids: &[Vec<f64>], z: &[f64]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, c) in centroids.iter().enumerate() {
        let d = dist2(c, z);
        if best.is_none_or(|(_, b)| d < b) {
            best = Some((i, d));
        }
    }
    best.map(|(i, _)| i)
}

/// Mean silhouette of `labels` over `rows` (a fixed stride sample when there are many rows);
/// members of singleton clusters score 0.
pub fn silhouette(rows: &[[f64; FEATURES]], labels: &[usize], k: usize) -> f64 {
    let n = rows.len();
    if n < 2 || k < 2 {
        return 0.0;
    }
    let stride = n.div_ceil(SILHOUETTE_SAMPLE).max(1);
    let idx: Vec<usize> = (0..n).step_by(stride).collect();
    let mut sizes = vec![0usize; k];
    for &i in &idx {
        if let Some(s) = labels.get(i).and_then(|&l| sizes.get_mut(l)) {
            *s += 1;
        }
    }
    let mut total = 0.0;
    for &i in &idx {
        let li = labels.get(i).copied().unwrap_or(0);
        if sizes.get(li).copied().unwrap_or(0) <= 1 {
            continue;
        }
        let mut sum = vec![0.0; k];
        for &j in &idx {
            if i != j
                && let Some(s) = labels.get(j).and_then(|&l| sum.get_mut(l))
            {
                *s += dist2(&rows[i], &rows[j]).sqrt();
            }
        }
        let a = sum[li] / (sizes[li] - 1) as f64;
        let b = (0..k)
            .filter(|&c| c != li && sizes[c] > 0)
            .map(|c| sum[c] / sizes[c] as f64)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() {
            let m = a.max(b);
            total += if m > 0.0 { (b - a) / m } else { 0.0 };
        }
    }
    total / idx.len() as f64
}

/// k-means with `k` clusters over standardized rows; labels numbered by first member.
fn kmeans(z: &[[f64; FEATURES]], k: usize) -> Option<(Vec<usize>, usize)> {
    let n = z.len();
    let flat: Vec<f64> = z.iter().flat_map(|r| r.iter().copied()).collect();
    let records = Array2::from_shape_vec((n, FEATURES), flat).ok()?;
    let data = DatasetBase::from(records);
    let rng = Xoshiro256Plus::seed_from_u64(SEED ^ k as u64);
    let model = KMeans::params_with_rng(k, rng)
        .n_runs(4)
        .max_n_iterations(100)
        .tolerance(1e-6)
        .fit(&data)
        .ok()?;
    let centroids: Vec<Vec<f64>> = model
        .centroids()
        .rows()
        .into_iter()
        .map(|r| r.to_vec())
        .collect();
    Some(renumber(
        z.iter().map(|r| nearest(&centroids, r).unwrap_or(0)),
    ))
}

/// Labels renumbered 0.. in order of first appearance; and how many there are.
fn renumber(raw: impl Iterator<Item = usize>) -> (Vec<usize>, usize) {
    let mut map: Vec<(usize, usize)> = Vec::new();
    let labels = raw
        .map(|l| match map.iter().find(|(r, _)| *r == l) {
            Some((_, n)) => *n,
            None => {
                map.push((l, map.len()));
                map.len() - 1
            }
        })
        .collect();
    (labels, map.len())
}

/// Mean row of each of the `k` clusters.
fn means(z: &[[f64; FEATURES]], labels: &[usize], k: usize) -> Vec<Vec<f64>> {
    let mut sums = vec![vec![0.0; FEATURES]; k];
    let mut counts = vec![0usize; k];
    for (r, &l) in z.iter().zip(labels) {
        if let (Some(sum), Some(c)) = (sums.get_mut(l), counts.get_mut(l)) {
            for (a, b) in sum.iter_mut().zip(r) {
                *a += b;
            }
            *c += 1;
        }
    }
    sums.into_iter()
        .zip(&counts)
        .map(|(s, &c)| s.into_iter().map(|x| x / c.max(1) as f64).collect())
        .collect()
}

/// Least distance between two cluster means (standardized), in units of the spread floors.
fn separation(model: &GroupModel, centroids: &[Vec<f64>]) -> f64 {
    let mut best = f64::INFINITY;
    for (i, a) in centroids.iter().enumerate() {
        for b in centroids.iter().skip(i + 1) {
            let d: f64 = a
                .iter()
                .zip(b)
                .zip(model.scale.iter().zip(SCALE_FLOOR))
                .map(|((x, y), (s, f))| ((x - y) * s / f).powi(2))
                .sum();
            best = best.min(d.sqrt());
        }
    }
    best
}

/// Cluster entities by their features. `rows` must be sorted by entity id (the numbering
/// of clusters follows it). Returns the model and each row's cluster, or None when there
/// are fewer than [`MIN_ENTITIES`] rows.
pub fn cluster(rows: &[[f64; FEATURES]], built_ms: i64) -> Option<(GroupModel, Vec<u32>)> {
    let n = rows.len();
    if n < MIN_ENTITIES {
        return None;
    }
    let mut mean = vec![0.0; FEATURES];
    let mut scale = vec![1.0; FEATURES];
    for i in 0..FEATURES {
        let xs: Vec<f64> = rows
            .iter()
            .map(|r| r[i])
            .filter(|x| x.is_finite())
            .collect();
        if xs.is_empty() {
            continue;
        }
        let m = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / xs.len() as f64;
        mean[i] = m;
        scale[i] = var.sqrt().max(SCALE_FLOOR[i]);
    }
    let mut model = GroupModel {
        built_ms,
        entities: n,
        silhouette: 0.0,
        mean,
        scale,
        centroids: Vec::new(),
    };
    let z: Vec<[f64; FEATURES]> = rows.iter().map(|r| model.standardize(r)).collect();
    let mut best: (Vec<usize>, usize, f64) = (vec![0; n], 1, 0.0);
    for k in 2..=MAX_K.min(n / 2) {
        let Some((labels, got)) = kmeans(&z, k) else {
            continue;
        };
        if got < 2 {
            continue;
        }
        if separation(&model, &means(&z, &labels, got)) < MIN_SEPARATION {
            continue;
        }
        let s = silhouette(&z, &labels, got);
        if s > best.2 + 1e-9 {
            best = (labels, got, s);
        }
    }
    if best.2 < MIN_SILHOUETTE {
        best = (vec![0; n], 1, 0.0);
    }
    let (labels, k, s) = best;
    model.centroids = means(&z, &labels, k);
    model.silhouette = s;
    Some((model, labels.into_iter().map(|l| l as u32).collect()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn row(level: f64, peak: f64, noise: f64) -> [f64; FEATURES] {
        [
            level + noise,
            level - noise,
            level,
            level + noise / 2.0,
            peak,
            1.0,
            2.0 + noise,
            1.0,
            0.5,
        ]
    }

    #[test]
    fn two_kinds_make_two_clusters_numbered_by_first_member() {
        let mut rows = Vec::new();
        for i in 0..10 {
            let noise = (i as f64 * 0.37).sin() * 0.1;
            rows.push(if i % 2 == 0 {
                row(13.8, 0.2, noise)
            } else {
                row(10.0, 11.0, noise)
            });
        }
        let (m, labels) = cluster(&rows, 0).unwrap();
        assert_eq!(m.k(), 2);
        assert!(m.silhouette > 0.8, "{}", m.silhouette);
        for (i, l) in labels.iter().enumerate() {
            assert_eq!(*l as usize, i % 2);
        }
        assert_eq!(m.nearest(&row(13.5, 0.0, 0.0)), Some(0));
        assert_eq!(m.nearest(&row(10.5, 10.0, 0.0)), Some(1));
        assert_eq!(cluster(&rows, 0).unwrap(), (m, labels));
    }

    #[test]
    fn one_kind_is_one_cluster_and_few_entities_none() {
        let rows: Vec<_> = (0..8)
            .map(|i| row(13.8, 0.3, (i as f64).cos() * 0.05))
            .collect();
        let (m, labels) = cluster(&rows, 0).unwrap();
        assert_eq!(m.k(), 1);
        assert!(labels.iter().all(|&l| l == 0));
        assert!(cluster(&rows[..3], 0).is_none());
    }

    #[test]
    fn profiles_saved_before_groups_still_load() {
        let p = Profile::new(flowtrail_core::EntityKind::Eni, Some("subnet-a".into()), 5);
        let mut v = serde_json::to_value(&p).unwrap();
        let obj = v.as_object_mut().unwrap();
        for k in ["last_ms", "peers_ln", "ports_ln", "ext_share", "cluster"] {
            obj.remove(k);
        }
        let old: Profile = serde_json::from_value(v).unwrap();
        assert_eq!(old.cluster, None);
        assert_eq!(old.last_ms, 0);
        let f = features(&old);
        assert!(f.iter().all(|x| x.is_nan()), "{f:?}");
    }

    #[test]
    fn missing_features_sit_at_the_mean() {
        let rows: Vec<_> = (0..4).map(|i| row(10.0 + i as f64, 0.0, 0.0)).collect();
        let (m, _) = cluster(&rows, 0).unwrap();
        let z = m.standardize(&[f64::NAN; FEATURES]);
        assert!(z.iter().all(|&x| x == 0.0));
    }
}
