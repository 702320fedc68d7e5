//! Views of the scored profiles for a run report: 2-D PCA projection, clustered similarity of
//! group means, and the condition × batch coverage of the benchmark's data.

use std::collections::BTreeMap;

use cpbench_core::Profiles;
use cpbench_core::manifest::Columns;
use cpbench_results::RunFigures;
use cpbench_results::figures::{Colouring, Coverage, Projection, SimilarityMap};

/// At most this many groups in the similarity heat map (the most populous are kept).
const MAX_GROUPS: usize = 80;
/// At most this many conditions in the coverage map.
const MAX_CONDITIONS: usize = 60;
/// At most this many points in the projection: more cannot be told apart in a plot, and the
/// components of an evenly spaced sample this size are what a reader would see anyway. Larger
/// tables (10⁵–10⁶ wells) are sampled, which keeps the view's time and memory bounded.
const MAX_POINTS: usize = 10_000;

/// Adds projection, similarity and coverage to `figures` where the data allow them.
pub fn add_views(figures: &mut RunFigures, scored: &Profiles, input: &Profiles, c: &Columns) {
    let present = |p: &Profiles, col: &Option<String>| -> Option<String> {
        col.clone().filter(|name| p.meta().column(name).is_ok())
    };
    let label = c
        .labels
        .iter()
        .find(|l| scored.meta().column(l).is_ok())
        .cloned()
        .or_else(|| present(scored, &c.perturbation));
    let batch = present(scored, &c.batch).or_else(|| present(scored, &c.plate));
    figures.projection = projection(scored, label.as_deref(), batch.as_deref());
    let group = present(scored, &c.perturbation).or_else(|| label.clone());
    if let Some(group) = group {
        let annotation = label.filter(|l| *l != group);
        figures.similarity = similarity(scored, &group, annotation.as_deref());
    }
    let condition = present(input, &c.perturbation).or_else(|| {
        c.labels
            .iter()
            .find(|l| input.meta().column(l).is_ok())
            .cloned()
    });
    let batch_in = present(input, &c.batch).or_else(|| present(input, &c.plate));
    if let (Some(cond), Some(b)) = (condition, batch_in) {
        figures.coverage = coverage(input, &cond, &b);
    }
}

fn strings(p: &Profiles, column: &str) -> Option<Vec<String>> {
    let values = p.meta_strings(column).ok()?;
    Some(
        values
            .into_iter()
            .map(|v| v.unwrap_or_else(|| "NA".into()))
            .collect(),
    )
}

/// First two principal components (`cpbench_metrics::pca`, f64).
fn projection(p: &Profiles, label: Option<&str>, batch: Option<&str>) -> Option<Projection> {
    let n = p.n_rows();
    if n > MAX_POINTS {
        // Rows ⌊k·n/m⌋: evenly spaced, the same on every run.
        let mut mask = vec![false; n];
        for k in 0..MAX_POINTS {
            mask[k * n / MAX_POINTS] = true;
        }
        let sample = p.filter_rows(&mask).ok()?;
        let mut view = projection(&sample, label, batch)?;
        view.sampled_from = Some(n as u64);
        return Some(view);
    }
    let d = p.n_features();
    if n < 3 || d < 2 {
        return None;
    }
    let x = p.features();
    let mut mean = vec![0.0f64; d];
    for row in x.chunks(d) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += f64::from(*v);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let centered: Vec<f64> = x
        .chunks(d)
        .flat_map(|row| row.iter().zip(&mean).map(|(v, m)| f64::from(*v) - m))
        .collect();
    let axes = cpbench_metrics::pca::leading_axes(&centered, n, d, 2)?;
    let explained = &axes.explained;
    Some(Projection {
        method: "PCA".into(),
        axes: [
            format!("PC1 ({:.1}%)", explained[0] * 100.0),
            format!("PC2 ({:.1}%)", explained[1] * 100.0),
        ],
        x: axes.coordinates(&centered, d, 0),
        y: axes.coordinates(&centered, d, 1),
        label: label.and_then(|l| {
            Some(Colouring {
                column: l.into(),
                values: strings(p, l)?,
            })
        }),
        batch: batch.and_then(|b| {
            Some(Colouring {
                column: b.into(),
                values: strings(p, b)?,
            })
        }),
        sampled_from: None,
    })
}

/// Cosine similarity of group means, ordered by average-linkage clustering.
fn similarity(p: &Profiles, group: &str, annotation: Option<&str>) -> Option<SimilarityMap> {
    let d = p.n_features();
    if d == 0 {
        return None;
    }
    let keys = strings(p, group)?;
    let notes = annotation.and_then(|a| strings(p, a));
    let mut members: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, k) in keys.iter().enumerate() {
        members.entry(k.as_str()).or_default().push(i);
    }
    let mut groups: Vec<(&str, Vec<usize>)> = members.into_iter().collect();
    if groups.len() < 2 {
        return None;
    }
    if groups.len() > MAX_GROUPS {
        groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
        groups.truncate(MAX_GROUPS);
        groups.sort_by(|a, b| a.0.cmp(b.0));
    }
    let x = p.features();
    let means: Vec<Vec<f64>> = groups
        .iter()
        .map(|(_, rows)| {
            let mut m = vec![0.0; d];
            for &r in rows {
                for (a, v) in m.iter_mut().zip(&x[r * d..(r + 1) * d]) {
                    *a += f64::from(*v);
                }
            }
            let norm = m.iter().map(|a| a * a).sum::<f64>().sqrt();
            if norm > 0.0 {
                m.iter_mut().for_each(|a| *a /= norm);
            }
            m
        })
        .collect();
    let g = means.len();
    let mut sim = vec![0.0; g * g];
    for i in 0..g {
        for j in 0..g {
            sim[i * g + j] = means[i].iter().zip(&means[j]).map(|(a, b)| a * b).sum();
        }
    }
    let order = average_linkage_order(&sim, g);
    let values = order
        .iter()
        .flat_map(|&i| order.iter().map(move |&j| (i, j)))
        .map(|(i, j)| sim[i * g + j].clamp(-1.0, 1.0))
        .collect();
    let annotation = notes.map(|n| Colouring {
        column: annotation.unwrap_or_default().to_string(),
        values: order.iter().map(|&i| n[groups[i].1[0]].clone()).collect(),
    });
    Some(SimilarityMap {
        column: group.into(),
        labels: order.iter().map(|&i| groups[i].0.to_string()).collect(),
        annotation,
        values,
    })
}

/// Leaf order of an average-linkage (UPGMA) tree on distance 1 − similarity.
fn average_linkage_order(sim: &[f64], g: usize) -> Vec<usize> {
    let mut clusters: Vec<Vec<usize>> = (0..g).map(|i| vec![i]).collect();
    while clusters.len() > 1 {
        let mut best = (0, 1, f64::INFINITY);
        for a in 0..clusters.len() {
            for b in a + 1..clusters.len() {
                let mut total = 0.0;
                for &i in &clusters[a] {
                    for &j in &clusters[b] {
                        total += 1.0 - sim[i * g + j];
                    }
                }
                let dist = total / (clusters[a].len() * clusters[b].len()) as f64;
                if dist < best.2 {
                    best = (a, b, dist);
                }
            }
        }
        let (a, b, _) = best;
        let merged = clusters.remove(b);
        clusters[a].extend(merged);
    }
    clusters.pop().unwrap_or_default()
}

fn coverage(p: &Profiles, condition: &str, batch: &str) -> Option<Coverage> {
    let conds = strings(p, condition)?;
    let batches = strings(p, batch)?;
    let mut counts: BTreeMap<(&str, &str), u32> = BTreeMap::new();
    let mut per_cond: BTreeMap<&str, u32> = BTreeMap::new();
    for (c, b) in conds.iter().zip(&batches) {
        *counts.entry((c.as_str(), b.as_str())).or_default() += 1;
        *per_cond.entry(c.as_str()).or_default() += 1;
    }
    let mut cond_names: Vec<&str> = per_cond.keys().copied().collect();
    if cond_names.len() > MAX_CONDITIONS {
        cond_names.sort_by(|a, b| per_cond[b].cmp(&per_cond[a]).then(a.cmp(b)));
        cond_names.truncate(MAX_CONDITIONS);
        cond_names.sort();
    }
    let mut batch_names: Vec<&str> = batches.iter().map(String::as_str).collect();
    batch_names.sort();
    batch_names.dedup();
    let cells = cond_names
        .iter()
        .flat_map(|c| batch_names.iter().map(move |b| (*c, *b)))
        .map(|k| counts.get(&k).copied().unwrap_or(0))
        .collect();
    Some(Coverage {
        condition_column: condition.into(),
        batch_column: batch.into(),
        conditions: cond_names.iter().map(|s| s.to_string()).collect(),
        batches: batch_names.iter().map(|s| s.to_string()).collect(),
        counts: cells,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linkage_puts_similar_items_side_by_side() {
        // 0 and 2 are near-identical, 1 and 3 too; the order must keep each pair adjacent.
        let s = [
            1.0, 0.0, 0.95, 0.1, //
            0.0, 1.0, 0.05, 0.9, //
            0.95, 0.05, 1.0, 0.0, //
            0.1, 0.9, 0.0, 1.0,
        ];
        let order = average_linkage_order(&s, 4);
        let pos = |i| order.iter().position(|&x| x == i).unwrap() as i32;
        assert_eq!((pos(0) - pos(2)).abs(), 1, "{order:?}");
        assert_eq!((pos(1) - pos(3)).abs(), 1, "{order:?}");
    }

    #[test]
    fn large_tables_are_projected_from_an_evenly_spaced_sample() {
        use polars::prelude::{Column, DataFrame};
        let n = 25_000;
        // Two groups far apart along f0; the label alternates with the row.
        let features: Vec<f32> = (0..n)
            .flat_map(|i| [if i % 2 == 0 { 10.0 } else { -10.0 }, (i % 7) as f32])
            .collect();
        let labels: Vec<String> = (0..n).map(|i| format!("g{}", i % 2)).collect();
        let meta =
            DataFrame::new_infer_height(vec![Column::new("Metadata_g".into(), labels)]).unwrap();
        let p = Profiles::new(
            meta,
            features,
            vec!["f0".into(), "f1".into()],
            cpbench_core::Level::Well,
        )
        .unwrap();
        let v = projection(&p, Some("Metadata_g"), None).unwrap();
        assert_eq!((v.x.len(), v.sampled_from), (MAX_POINTS, Some(n as u64)));
        // Rows 0, 2.5, 5, ... → 0, 2, 5, 7, ...: both groups are in the sample, each point
        // on the side of its own label.
        let values = &v.label.as_ref().unwrap().values;
        assert!(values.iter().any(|l| l == "g0") && values.iter().any(|l| l == "g1"));
        for (x, l) in v.x.iter().zip(values) {
            assert_eq!(*x > 0.0, l == &values[0], "{x} {l}");
        }
        assert_eq!(projection(&p, Some("Metadata_g"), None).unwrap(), v);
        let small = p
            .filter_rows(&(0..n).map(|i| i < 100).collect::<Vec<_>>())
            .unwrap();
        assert_eq!(projection(&small, None, None).unwrap().sampled_from, None);
    }
}
