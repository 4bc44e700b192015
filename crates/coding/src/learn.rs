//! A learned coder: one logistic regression per code over the words and word pairs of passages,
//! trained on a team's own codings, deterministic and explainable.
//!
//! - **Features**: the passage's words (as [`fieldnotes_corpus::words`] reads them) and pairs of
//!   neighbouring words, present or not, weighted by inverse document frequency over the
//!   training passages (`ln((n + 1) / (df + 1)) + 1`) and scaled to unit length: the TF-IDF a
//!   researcher would compute, with binary term counts. Features seen in fewer than two
//!   training passages are left out.
//! - **Model**: L2-regularised logistic regression, fitted by stochastic gradient descent over
//!   the passages in an order fixed by a seeded shuffle, so the same codings give the same
//!   weights on every machine.
//! - **Explanation**: a passage's score is a sum over its features; the features that add most
//!   are its evidence.

use rustc_hash::FxHashMap;

/// A passage as features: (feature id, weight), by id, of unit length.
pub type Features = Vec<(u32, f32)>;

/// A code's model with its threshold: (code, model, the score at or above which it is suggested).
pub type CodeModel = (String, Model, f32);

/// The words and word pairs of `text`.
pub fn terms(text: &str) -> Vec<String> {
    let words: Vec<String> = fieldnotes_corpus::words(text).collect();
    let mut out: Vec<String> = words.windows(2).map(|w| format!("{} {}", w[0], w[1])).collect();
    out.extend(words);
    out.sort_unstable();
    out.dedup();
    out
}

/// The vocabulary and inverse document frequencies of a training set.
#[derive(Clone, Debug, Default)]
pub struct Vocabulary {
    ids: FxHashMap<String, u32>,
    names: Vec<String>,
    idf: Vec<f32>,
}

impl Vocabulary {
    /// The terms of `passages` (each a passage's [`terms`]) seen in at least `min_df` of them.
    pub fn fit(passages: &[Vec<String>], min_df: usize) -> Vocabulary {
        let mut df: FxHashMap<&str, usize> = FxHashMap::default();
        for p in passages {
            for t in p {
                *df.entry(t.as_str()).or_default() += 1;
            }
        }
        let mut kept: Vec<(&str, usize)> = df.into_iter().filter(|&(_, n)| n >= min_df.max(1)).collect();
        kept.sort_unstable();
        let n = passages.len() as f32;
        let mut v = Vocabulary::default();
        for (i, (t, d)) in kept.into_iter().enumerate() {
            v.ids.insert(t.to_string(), i as u32);
            v.names.push(t.to_string());
            v.idf.push(((n + 1.0) / (d as f32 + 1.0)).ln() + 1.0);
        }
        v
    }

    /// How many features there are.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Feature `id`'s term.
    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    /// A passage's features (its [`terms`]): the known ones, IDF-weighted, of unit length.
    pub fn features(&self, terms: &[String]) -> Features {
        let mut f: Features =
            terms.iter().filter_map(|t| self.ids.get(t).map(|&i| (i, self.idf[i as usize]))).collect();
        f.sort_unstable_by_key(|x| x.0);
        let norm = f.iter().map(|x| x.1 * x.1).sum::<f32>().sqrt();
        if norm > 0.0 {
            for x in &mut f {
                x.1 /= norm;
            }
        }
        f
    }
}

/// One code's logistic regression.
#[derive(Clone, Debug)]
pub struct Model {
    weights: Vec<f32>,
    bias: f32,
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// The next number of a xorshift generator: a shuffle that is the same everywhere.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// How training goes: passes over the data, and the strength of the L2 penalty.
#[derive(Clone, Copy, Debug)]
pub struct Training {
    /// Passes over the training passages.
    pub epochs: usize,
    /// L2 penalty per passage.
    pub lambda: f32,
}

impl Default for Training {
    fn default() -> Training {
        Training { epochs: 20, lambda: 3e-5 }
    }
}

impl Model {
    /// Fits a model of `dim` features to passages `xs` labelled `ys`.
    pub fn train(xs: &[&Features], ys: &[bool], dim: usize, t: Training) -> Model {
        let mut w = vec![0.0f32; dim];
        // The weights are `scale * w`: the L2 shrinkage of every weight is one multiplication.
        let mut scale = 1.0f32;
        let mut bias = 0.0f32;
        let mut order: Vec<usize> = (0..xs.len()).collect();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut step = 0usize;
        // Each class weighs as much as the other in all (a code is on few passages).
        let positives = ys.iter().filter(|&&y| y).count().max(1) as f32;
        let negatives = (ys.len() as f32 - positives).max(1.0);
        let n = ys.len() as f32;
        let (w_pos, w_neg) = (n / (2.0 * positives), n / (2.0 * negatives));
        for _ in 0..t.epochs {
            for i in (1..order.len()).rev() {
                let j = (xorshift(&mut seed) % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
            for &i in &order {
                step += 1;
                let lr = 0.5 / (1.0 + 0.5 * t.lambda * step as f32).sqrt();
                let x = xs[i];
                let z = scale * x.iter().map(|&(f, v)| w[f as usize] * v).sum::<f32>() + bias;
                let g = (sigmoid(z) - if ys[i] { 1.0 } else { 0.0 }) * if ys[i] { w_pos } else { w_neg };
                scale *= 1.0 - lr * t.lambda;
                if scale < 1e-6 {
                    for x in &mut w {
                        *x *= scale;
                    }
                    scale = 1.0;
                }
                for &(f, v) in x {
                    w[f as usize] -= lr * g * v / scale;
                }
                bias -= lr * g;
            }
        }
        for x in &mut w {
            *x *= scale;
        }
        Model { weights: w, bias }
    }

    /// The probability that a passage of features `x` carries the code.
    pub fn score(&self, x: &Features) -> f32 {
        sigmoid(x.iter().map(|&(f, v)| self.weights[f as usize] * v).sum::<f32>() + self.bias)
    }

    /// The features of `x` that add most to its score, most first, at most `n`.
    pub fn reasons(&self, x: &Features, n: usize) -> Vec<(u32, f32)> {
        let mut c: Vec<(u32, f32)> =
            x.iter().map(|&(f, v)| (f, self.weights[f as usize] * v)).filter(|&(_, c)| c > 0.0).collect();
        c.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        c.truncate(n);
        c
    }
}

/// The models of a `code learn`, kept under `.fieldnotes/` (derived: deleting it loses nothing
/// but the scores `code explain` and `code review --order uncertain` show until the next
/// `code learn`).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Saved {
    /// The coders it learned from.
    pub from: Vec<String>,
    /// The vocabulary, in id order, with each term's inverse document frequency.
    pub terms: Vec<(String, f32)>,
    /// Each code's model.
    pub codes: Vec<SavedCode>,
}

/// One code's model in [`Saved`].
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct SavedCode {
    /// The code.
    pub code: String,
    /// The score at or above which it is suggested.
    pub threshold: f32,
    /// The intercept.
    pub bias: f32,
    /// The weights that are not zero: (feature id, weight).
    pub weights: Vec<(u32, f32)>,
}

/// A passage's score for one code, with the features behind it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Explained {
    /// The code.
    pub code: String,
    /// The model's probability.
    pub score: f32,
    /// The score at or above which it is suggested.
    pub threshold: f32,
    /// The passage's features that add most to the score, with what each adds.
    pub features: Vec<(String, f32)>,
}

impl Saved {
    /// Keeps `vocab` and the `models` (code, model, threshold) of a run.
    pub fn of(from: &[String], vocab: &Vocabulary, models: &[CodeModel]) -> Saved {
        Saved {
            from: from.to_vec(),
            terms: vocab.names.iter().cloned().zip(vocab.idf.iter().copied()).collect(),
            codes: models
                .iter()
                .map(|(code, m, threshold)| SavedCode {
                    code: code.clone(),
                    threshold: *threshold,
                    bias: m.bias,
                    weights: m
                        .weights
                        .iter()
                        .enumerate()
                        .filter(|(_, w)| w.abs() > 1e-6)
                        .map(|(i, &w)| (i as u32, w))
                        .collect(),
                })
                .collect(),
        }
    }

    /// The vocabulary and models kept.
    pub fn models(&self) -> (Vocabulary, Vec<CodeModel>) {
        let mut v = Vocabulary::default();
        for (i, (t, idf)) in self.terms.iter().enumerate() {
            v.ids.insert(t.clone(), i as u32);
            v.names.push(t.clone());
            v.idf.push(*idf);
        }
        let models = self
            .codes
            .iter()
            .map(|c| {
                let mut weights = vec![0.0f32; v.len()];
                for &(i, w) in &c.weights {
                    if let Some(x) = weights.get_mut(i as usize) {
                        *x = w;
                    }
                }
                (c.code.clone(), Model { weights, bias: c.bias }, c.threshold)
            })
            .collect();
        (v, models)
    }
}

/// Each code's score for `text` under the kept models, with its five strongest features.
pub fn explain(vocab: &Vocabulary, models: &[CodeModel], text: &str) -> Vec<Explained> {
    let x = vocab.features(&terms(text));
    models
        .iter()
        .map(|(code, m, threshold)| Explained {
            code: code.clone(),
            score: m.score(&x),
            threshold: *threshold,
            features: m.reasons(&x, 5).into_iter().map(|(f, c)| (vocab.name(f).to_string(), c)).collect(),
        })
        .collect()
}

/// Precision, recall and F1 of predictions against labels (`None` where undefined).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Scores {
    /// Passages predicted and labelled.
    pub tp: usize,
    /// Predicted, not labelled.
    pub fp: usize,
    /// Labelled, not predicted.
    pub fn_: usize,
}

impl Scores {
    /// Counts `predicted` against `labelled`.
    pub fn of(predicted: impl IntoIterator<Item = bool>, labelled: impl IntoIterator<Item = bool>) -> Scores {
        let mut s = Scores::default();
        for (p, l) in predicted.into_iter().zip(labelled) {
            match (p, l) {
                (true, true) => s.tp += 1,
                (true, false) => s.fp += 1,
                (false, true) => s.fn_ += 1,
                _ => {}
            }
        }
        s
    }

    /// tp / (tp + fp), as `code eval` gives it.
    pub fn precision(&self) -> Option<f64> {
        crate::units::precision_recall_f1(self.tp, self.fp, self.fn_).0
    }

    /// tp / (tp + fn), as `code eval` gives it.
    pub fn recall(&self) -> Option<f64> {
        crate::units::precision_recall_f1(self.tp, self.fp, self.fn_).1
    }

    /// The harmonic mean of precision and recall (0 where either is 0 or undefined), from the
    /// counts (2 tp / (2 tp + fp + fn)), so that equal counts give equal scores when thresholds
    /// are compared.
    pub fn f1(&self) -> f64 {
        let d = 2 * self.tp + self.fp + self.fn_;
        if d == 0 { 0.0 } else { 2.0 * self.tp as f64 / d as f64 }
    }
}

/// Cross-validated scores of a code: passages in `folds` groups (`fold[i]` for passage `i`,
/// whole notes together), each predicted by a model trained on the others. Returns each
/// passage's held-out score.
pub fn cross_validate(xs: &[Features], ys: &[bool], fold: &[usize], folds: usize, dim: usize, t: Training) -> Vec<f32> {
    let mut out = vec![0.0f32; xs.len()];
    for k in 0..folds {
        let train: Vec<usize> = (0..xs.len()).filter(|&i| fold[i] != k).collect();
        if train.is_empty() {
            continue;
        }
        let tx: Vec<&Features> = train.iter().map(|&i| &xs[i]).collect();
        let ty: Vec<bool> = train.iter().map(|&i| ys[i]).collect();
        let m = Model::train(&tx, &ty, dim, t);
        for i in (0..xs.len()).filter(|&i| fold[i] == k) {
            out[i] = m.score(&xs[i]);
        }
    }
    out
}

/// The threshold of the grid 0.05, 0.10 .. 0.90 with the best F1 for held-out `scores` against
/// `ys` (the higher of ties), and its scores.
pub fn best_threshold(scores: &[f32], ys: &[bool]) -> (f32, Scores) {
    let mut best = (0.5f32, Scores::of(scores.iter().map(|&s| s >= 0.5), ys.iter().copied()));
    for k in 1..=18 {
        let th = k as f32 * 0.05;
        let s = Scores::of(scores.iter().map(|&x| x >= th), ys.iter().copied());
        if s.f1() > best.1.f1() || (s.f1() == best.1.f1() && th > best.0 && s.f1() > 0.0) {
            best = (th, s);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny labelled set whose model is known: passages about trust are positive.
    fn fixture() -> (Vec<Vec<String>>, Vec<bool>) {
        let pos = ["We built trust slowly.", "Trust grew between partners.", "Trust takes time to build."];
        let neg = ["The budget was cut.", "We discussed the budget again.", "The room was cold."];
        let texts: Vec<Vec<String>> = pos.iter().chain(neg.iter()).map(|t| terms(t)).collect();
        (texts, vec![true, true, true, false, false, false])
    }

    #[test]
    fn terms_are_words_and_word_pairs() {
        assert_eq!(terms("Trust grew, trust"), ["grew", "grew trust", "trust", "trust grew"]);
    }

    #[test]
    fn a_model_learns_the_word_that_marks_its_code_and_says_so() {
        let (texts, ys) = fixture();
        let v = Vocabulary::fit(&texts, 2);
        assert!(v.ids.contains_key("trust") && v.ids.contains_key("budget") && !v.ids.contains_key("cold"));
        let xs: Vec<Features> = texts.iter().map(|t| v.features(t)).collect();
        let refs: Vec<&Features> = xs.iter().collect();
        let m = Model::train(&refs, &ys, v.len(), Training::default());
        let new = v.features(&terms("Trust was slow to come."));
        let other = v.features(&terms("The budget, again."));
        assert!(m.score(&new) > 0.5 && m.score(&other) < 0.5, "{} {}", m.score(&new), m.score(&other));
        let why = m.reasons(&new, 3);
        assert_eq!(v.name(why[0].0), "trust");
        // The same data, the same model, to the bit.
        let again = Model::train(&refs, &ys, v.len(), Training::default());
        assert_eq!(again.weights, m.weights);
        assert_eq!(again.bias.to_bits(), m.bias.to_bits());
    }

    #[test]
    fn scores_and_thresholds() {
        let s = Scores::of([true, true, false, false], [true, false, true, false]);
        assert_eq!((s.tp, s.fp, s.fn_), (1, 1, 1));
        assert_eq!((s.precision(), s.recall(), s.f1()), (Some(0.5), Some(0.5), 0.5));
        let (th, best) = best_threshold(&[0.9, 0.3, 0.2, 0.1], &[true, true, false, false]);
        assert_eq!((best.tp, best.fp), (2, 0));
        assert!((0.2..=0.3).contains(&th), "{th}");
    }
}
